/**
 * The serving control plane: stores services and their immutable revisions, runs each deploy as
 * an operation (revision → deployment probe → traffic), keeps the route table the router reads,
 * and resumes unfinished work after a restart.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../shared/clock.js';
import { invalidArgument, KumoError } from '../shared/errors.js';
import { OperationLog } from '../operations/operation-log.js';
import type { Operation, OperationStep } from '../operations/operation.types.js';
import type { ResolvedImage } from '../runtime/runtime.js';
import type { ApplyOptions, DeleteOptions, IamPolicy, ServingControl } from './control.js';
import type { Dispatchers } from './dispatcher/dispatchers.js';
import { revisionName, serviceUrl, tagUrl } from './naming.js';
import type { UrlBase } from './naming.js';
import type { Revision } from './revision.types.js';
import { hostNetworkRefusal, revisionSettings } from './revision.settings.js';
import { defaultTemplate, templateFingerprint } from './service.defaults.js';
import { isFailed, isReady, setCondition } from './service.lifecycle.js';
import type { Service, ServiceInput, TrafficTarget } from './service.types.js';
import { API_VERSION, KEYS } from './service.types.js';
import { validateServiceInput } from './service.validation.js';
import type { ServingStore } from './serving.store.js';
import type { RouteTable } from './route-table.js';

export interface ServingControllerOptions {
  store: ServingStore;
  dispatchers: Dispatchers;
  routes: RouteTable;
  clock: Clock;
  project: string;
  region: string;
  urlBase: UrlBase;
  random: () => number;
  /** Whether a pinned source snapshot exists. */
  hasSource(digest: string): boolean;
  /** Resolves an image reference in kumo's registry (absent until the registry is wired). */
  resolveImage?(reference: string): Promise<ResolvedImage>;
  /** `kumo server --allow-host-network`: revisions may ask for the host's network. */
  allowHostNetwork?: boolean;
}

const INVOKER = 'roles/run.invoker';

export class ServingController implements ServingControl {
  readonly project: string;
  readonly region: string;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly ops: OperationLog;

  constructor(private readonly o: ServingControllerOptions) {
    this.project = o.project;
    this.region = o.region;
    this.ops = new OperationLog(o.store, () => o.clock.now());
  }

  /** After a restart: rebuild routes, finish interrupted deploys, warm min instances. */
  start(): void {
    for (const s of this.o.store.listServices()) {
      this.refreshRoute(s);
      const latest = s.status.latestCreatedRevisionName;
      const rev = latest ? this.o.store.findRevision(latest) : undefined;
      if (rev && !isReady(rev.status.conditions) && !isFailed(rev.status.conditions)) this.reconcileSoon(s.metadata.name);
      else this.warmServing(s);
    }
    for (const op of this.ops.list()) {
      if (op.done) continue;
      const service = op.target.split('/').pop() ?? '';
      const s = this.o.store.findService(service);
      const pending = s && s.status.latestCreatedRevisionName !== s.status.latestReadyRevisionName;
      if (!pending) {
        this.ops.finish(op, { code: 'ABORTED', message: 'the kumo server restarted during this operation; run it again' });
      }
    }
  }

  // ---- services -------------------------------------------------------------------------

  applyService(input: ServiceInput, options: ApplyOptions): { service: Service; operation: Operation | undefined } {
    const violations = validateServiceInput(input);
    if (violations.length > 0) throw invalidArgument(violations, { service: input?.metadata?.name });
    const name = input.metadata.name;
    const existing = this.o.store.findService(name);
    if (options.mode === 'create' && existing) {
      throw new KumoError('ALREADY_EXISTS', `service "${name}" already exists; deploy a new revision with \`kumo run deploy ${name}\` or replace it`, { service: name });
    }
    if (options.mode === 'replace' && !existing) {
      throw new KumoError('NOT_FOUND', `service "${name}" not found; create it first`, { service: name });
    }
    if (input.metadata.resourceVersion && existing && input.metadata.resourceVersion !== existing.metadata.resourceVersion) {
      throw new KumoError('ABORTED', `service "${name}" changed since you read it (resourceVersion ${input.metadata.resourceVersion}, now ${existing.metadata.resourceVersion}); read it again and retry`, {
        service: name,
        field: 'metadata.resourceVersion',
      });
    }
    const template = defaultTemplate(input.spec.template);
    const settings = revisionSettings(template);
    const hostNetwork = hostNetworkRefusal(settings, this.o.allowHostNetwork ?? false, name);
    if (hostNetwork) throw hostNetwork;
    if (settings.sourceDigest && !this.o.hasSource(settings.sourceDigest)) {
      throw new KumoError('FAILED_PRECONDITION', `source snapshot ${settings.sourceDigest} was not uploaded to this server; deploy with --source DIR`, {
        field: `spec.template.metadata.annotations["${KEYS.source}"]`,
      });
    }
    // A revision name the caller picks (`--revision-suffix`, `--tag`) asks for a new revision, as in Knative,
    // even when nothing else changed (a re-pushed tag deployed again).
    const namedAnew = template.metadata.name !== undefined && template.metadata.name !== existing?.status.latestCreatedRevisionName;
    const newRevision = !existing || namedAnew || templateFingerprint(template) !== templateFingerprint(existing.spec.template);
    const traffic = input.spec.traffic && input.spec.traffic.length > 0 ? input.spec.traffic : [{ latestRevision: true, percent: 100 }];
    const nowIso = new Date(this.o.clock.now()).toISOString();
    const specChanged = newRevision || JSON.stringify(traffic) !== JSON.stringify(existing?.spec.traffic);
    const generation = existing ? existing.metadata.generation + (specChanged ? 1 : 0) : 1;
    const revName = newRevision ? (template.metadata.name ?? revisionName(name, generation, this.o.random)) : existing?.status.latestCreatedRevisionName;
    if (newRevision && revName && this.o.store.findRevision(revName)) {
      throw invalidArgument([{ field: 'spec.template.metadata.name', description: `revision "${revName}" already exists; pick another name or leave it empty` }]);
    }
    const known = new Set(this.o.store.listRevisions(name).map((r) => r.metadata.name));
    if (revName) known.add(revName);
    traffic.forEach((t, i) => {
      if (t.revisionName && !known.has(t.revisionName)) {
        throw invalidArgument([{ field: `spec.traffic[${i}].revisionName`, description: `revision "${t.revisionName}" does not exist; list them with \`kumo run revisions list --service ${name}\`` }]);
      }
    });
    if (settings.image && !this.o.resolveImage) {
      throw new KumoError('FAILED_PRECONDITION', 'this kumo server has no registry to resolve images from yet; deploy with --source DIR', { field: 'spec.template.spec.containers[0].image' });
    }
    // Source deploys learn their runtime now (for the deploy note); an image's runtime is checked
    // after the image is resolved and pinned, so a missing image is reported first.
    const runtimeNote = settings.sourceDigest ? this.o.dispatchers.runtimeFor(settings).note : undefined;

    const labels = { ...(input.metadata.labels ?? {}), [KEYS.location]: options.region ?? existing?.metadata.labels[KEYS.location] ?? this.region };
    const annotations = {
      ...(input.metadata.annotations ?? {}),
      [KEYS.creator]: existing?.metadata.annotations[KEYS.creator] ?? options.actor ?? 'admin',
      [KEYS.lastModifier]: options.actor ?? 'admin',
    };
    let status = existing?.status ?? { observedGeneration: 0, conditions: [], traffic: [] };
    if (newRevision) {
      status = {
        ...status,
        observedGeneration: generation,
        latestCreatedRevisionName: revName,
        conditions: [
          ['Ready', 'Deploying', `Deploying revision ${revName}`],
          ['ConfigurationsReady', 'Deploying', `Revision ${revName} is starting`],
          ['RoutesReady', 'Deploying', 'Waiting for the new revision'],
        ].reduce((c, [t, r, m]) => setCondition(c, t as 'Ready', 'Unknown', nowIso, r, m), status.conditions),
      };
    } else {
      status = { ...status, observedGeneration: generation };
    }
    const service: Service = {
      apiVersion: API_VERSION,
      kind: 'Service',
      metadata: {
        name,
        namespace: this.project,
        uid: existing?.metadata.uid ?? randomUUID(),
        generation,
        resourceVersion: existing?.metadata.resourceVersion ?? '0',
        creationTimestamp: existing?.metadata.creationTimestamp ?? nowIso,
        labels,
        annotations,
      },
      spec: { template, traffic },
      status: { ...status, url: serviceUrl(name, this.o.urlBase), address: { url: serviceUrl(name, this.o.urlBase) } },
    };
    if (options.validateOnly) return { service, operation: undefined };

    const steps: OperationStep[] = [];
    const step = (id: string, title: string, state: OperationStep['state'], message?: string) =>
      steps.push({ id, title, state, updateTime: nowIso, ...(message ? { message } : {}) });
    if (newRevision) {
      step('revision', `Creating revision ${revName}`, 'done');
      step('instance', 'Starting an instance (deployment probe)', 'pending', runtimeNote);
    }
    step('traffic', 'Routing traffic', 'pending');
    const operation: Operation = {
      name: `projects/${this.project}/locations/${service.metadata.labels[KEYS.location] ?? this.region}/operations/${randomUUID()}`,
      kind: 'deploy',
      target: this.resourceName(name),
      createTime: nowIso,
      updateTime: nowIso,
      done: false,
      steps,
    };
    this.o.store.transaction(() => {
      service.metadata.resourceVersion = this.o.store.nextVersion();
      this.o.store.putService(service);
      if (newRevision && revName) this.o.store.putRevision(this.newRevision(service, revName, nowIso));
      this.o.store.putOperation(operation);
    });
    this.reconcileSoon(name, operation.name);
    return { service, operation };
  }

  getService(name: string): Service {
    return this.o.store.getService(name);
  }

  listServices(): Service[] {
    return this.o.store.listServices();
  }

  deleteService(name: string, options: DeleteOptions = {}): { service: Service; operation: Operation | undefined } {
    const service = this.o.store.getService(name);
    if (options.resourceVersion && options.resourceVersion !== service.metadata.resourceVersion) {
      throw new KumoError('ABORTED', `service "${name}" changed since you read it; read it again and retry`, { service: name, field: 'etag' });
    }
    if (options.validateOnly) return { service, operation: undefined };
    const nowIso = new Date(this.o.clock.now()).toISOString();
    const operation: Operation = {
      name: `projects/${this.project}/locations/${service.metadata.labels[KEYS.location] ?? this.region}/operations/${randomUUID()}`,
      kind: 'delete',
      target: this.resourceName(name),
      createTime: nowIso,
      updateTime: nowIso,
      done: false,
      steps: [{ id: 'stop', title: 'Stopping instances', state: 'running', updateTime: nowIso }],
    };
    const revisions = this.o.store.listRevisions(name);
    this.o.store.transaction(() => {
      this.o.store.deleteService(name);
      this.o.store.putOperation(operation);
    });
    this.o.routes.remove(name);
    void Promise.all(revisions.map((r) => this.o.dispatchers.closePool(r.metadata.name))).then(() => {
      this.ops.finish(operation, undefined, { service: name, deleted: true });
    });
    return { service, operation };
  }

  // ---- revisions ------------------------------------------------------------------------

  getRevision(name: string): Revision {
    const r = this.o.store.findRevision(name);
    if (!r) throw new KumoError('NOT_FOUND', `revision "${name}" not found; list revisions with \`kumo run revisions list\``, { revision: name });
    return r;
  }

  listRevisions(service?: string): Revision[] {
    if (service !== undefined) this.o.store.getService(service);
    return this.o.store.listRevisions(service);
  }

  deleteRevision(name: string): Revision {
    const r = this.getRevision(name);
    const service = r.metadata.labels[KEYS.serviceLabel] ?? '';
    const s = this.o.store.findService(service);
    if (s && (s.status.traffic.some((t) => t.revisionName === name) || s.status.latestCreatedRevisionName === name)) {
      throw new KumoError('FAILED_PRECONDITION', `revision "${name}" is serving traffic or is the latest revision of ${service}; move traffic away first`, { revision: name });
    }
    this.o.store.deleteRevision(name);
    void this.o.dispatchers.closePool(name);
    return r;
  }

  // ---- operations -----------------------------------------------------------------------

  getOperation(name: string): Operation {
    return this.ops.get(name);
  }

  listOperations(): Operation[] {
    return this.ops.list();
  }

  waitOperation(name: string, timeoutMs: number, changedSince?: string): Promise<Operation> {
    return this.ops.wait(name, timeoutMs, changedSince);
  }

  deleteOperation(name: string): void {
    this.ops.delete(name);
  }

  // ---- IAM ------------------------------------------------------------------------------

  getIamPolicy(service: string): IamPolicy {
    this.o.store.getService(service);
    return this.o.store.findPolicy(service) ?? { version: 1, bindings: [], etag: 'BwAAAAAAAAA=' };
  }

  setIamPolicy(service: string, policy: IamPolicy): IamPolicy {
    const s = this.o.store.getService(service);
    const current = this.getIamPolicy(service);
    if (policy.etag && current.etag && policy.etag !== current.etag) {
      throw new KumoError('ABORTED', `the IAM policy of ${service} changed since you read it; read it again and retry`, { service, field: 'policy.etag' });
    }
    const violations = (policy.bindings ?? []).flatMap((b, i) =>
      typeof b.role !== 'string' || !Array.isArray(b.members) || b.members.some((m) => typeof m !== 'string' || !/^(allUsers|allAuthenticatedUsers|(user|serviceAccount|group|domain):.+)$/.test(m))
        ? [{ field: `policy.bindings[${i}]`, description: 'needs a role and members like allUsers, user:EMAIL or serviceAccount:EMAIL' }]
        : [],
    );
    if (violations.length > 0) throw invalidArgument(violations);
    const next: IamPolicy = { version: 1, bindings: policy.bindings ?? [], etag: Buffer.from(this.o.store.nextVersion()).toString('base64') };
    this.o.store.putPolicy(service, next);
    this.refreshRoute(s);
    return next;
  }

  // ---- reconciling ----------------------------------------------------------------------

  private resourceName(service: string): string {
    return `projects/${this.project}/locations/${this.region}/services/${service}`;
  }

  private newRevision(service: Service, name: string, nowIso: string): Revision {
    const t = service.spec.template;
    return {
      apiVersion: API_VERSION,
      kind: 'Revision',
      metadata: {
        name,
        namespace: this.project,
        uid: randomUUID(),
        generation: 1,
        resourceVersion: this.o.store.nextVersion(),
        creationTimestamp: nowIso,
        labels: {
          ...(t.metadata.labels ?? {}),
          [KEYS.serviceLabel]: service.metadata.name,
          [KEYS.configurationLabel]: service.metadata.name,
          [KEYS.configurationGenerationLabel]: String(service.metadata.generation),
          [KEYS.location]: service.metadata.labels[KEYS.location] ?? this.region,
        },
        annotations: { ...(t.metadata.annotations ?? {}) },
      },
      spec: structuredClone(t.spec),
      status: {
        observedGeneration: 1,
        conditions: setCondition([], 'Ready', 'Unknown', nowIso, 'Deploying', 'Starting an instance'),
      },
    };
  }

  private reconcileSoon(service: string, opName?: string): void {
    const prev = this.chains.get(service) ?? Promise.resolve();
    const next = prev.then(() => this.reconcile(service, opName)).catch((err: unknown) => {
      console.error(`kumo: reconciling ${service} failed:`, err);
    });
    this.chains.set(service, next);
    void next.then(() => {
      if (this.chains.get(service) === next) this.chains.delete(service);
    });
  }

  /** Wait for every queued reconcile (used by shutdown and tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  private async reconcile(serviceName: string, opName?: string): Promise<void> {
    let service = this.o.store.findService(serviceName);
    let op = opName ? this.ops.find(opName) : this.pendingOperationFor(serviceName);
    if (!service) return;
    const latest = service.status.latestCreatedRevisionName;
    let rev = latest ? this.o.store.findRevision(latest) : undefined;
    if (rev && !isReady(rev.status.conditions) && !isFailed(rev.status.conditions)) {
      if (op) op = this.ops.step(op, 'instance', 'running');
      try {
        rev = await this.pinImage(rev);
        await this.o.dispatchers.pool(rev).deploymentProbe();
        rev = this.markRevision(rev, 'True');
        if (op) op = this.ops.step(op, 'instance', 'done');
      } catch (err) {
        const e = err instanceof KumoError ? err : new KumoError('UNAVAILABLE', String(err));
        rev = this.markRevision(rev, 'False', e);
        await this.o.dispatchers.closePool(rev.metadata.name);
        service = this.o.store.findService(serviceName);
        if (!service) return;
        if (service.status.latestCreatedRevisionName === rev.metadata.name) {
          const nowIso = new Date(this.o.clock.now()).toISOString();
          const msg = `Revision '${rev.metadata.name}' is not ready and cannot serve traffic. ${e.message}`;
          service.status.conditions = setCondition(service.status.conditions, 'ConfigurationsReady', 'False', nowIso, 'RevisionFailed', msg);
          service.status.conditions = setCondition(service.status.conditions, 'Ready', 'False', nowIso, 'RevisionFailed', msg);
          service.status.conditions = setCondition(
            service.status.conditions,
            'RoutesReady',
            service.status.latestReadyRevisionName ? 'True' : 'False',
            nowIso,
            service.status.latestReadyRevisionName ? undefined : 'RevisionFailed',
            service.status.latestReadyRevisionName ? undefined : msg,
          );
          this.saveService(service);
        }
        if (op) {
          op = this.ops.step(op, 'instance', 'failed', e.message);
          op = this.ops.step(op, 'traffic', 'skipped', service.status.latestReadyRevisionName ? `traffic stays on ${service.status.latestReadyRevisionName}` : undefined);
          this.ops.finish(op, { code: e.code === 'INVALID_ARGUMENT' ? 'FAILED_PRECONDITION' : e.code, message: msg(e, rev.metadata.name) });
        }
        return;
      }
    }
    service = this.o.store.findService(serviceName);
    if (!service) return;
    if (rev && isReady(rev.status.conditions) && service.status.latestCreatedRevisionName === rev.metadata.name) {
      service.status.latestReadyRevisionName = rev.metadata.name;
    }
    this.routeService(service);
    if (op) {
      op = this.ops.step(op, 'traffic', 'done');
      this.ops.finish(op, undefined, { service: serviceName, revision: service.status.latestReadyRevisionName, url: service.status.url });
    }
  }

  private pendingOperationFor(service: string): Operation | undefined {
    const target = this.resourceName(service);
    return this.ops.list().find((o) => !o.done && o.target === target && o.kind === 'deploy');
  }

  /** Resolve and record the image digest once, so re-pushing the tag never changes this revision. */
  private async pinImage(rev: Revision): Promise<Revision> {
    const image = rev.spec.containers[0]?.image;
    if (!image || rev.status.imageDigest || !this.o.resolveImage) return rev;
    const resolved = await this.o.resolveImage(image);
    const pinned = `${resolved.repository}@${resolved.digest}`;
    const next: Revision = {
      ...rev,
      metadata: { ...rev.metadata, resourceVersion: this.o.store.nextVersion() },
      status: { ...rev.status, imageDigest: pinned, containerStatuses: [{ name: rev.spec.containers[0]?.name ?? 'app', imageDigest: pinned }] },
    };
    this.o.store.putRevision(next);
    return next;
  }

  private markRevision(rev: Revision, status: 'True' | 'False', err?: KumoError): Revision {
    const current = this.o.store.findRevision(rev.metadata.name) ?? rev;
    const nowIso = new Date(this.o.clock.now()).toISOString();
    let c = current.status.conditions;
    const reason = status === 'True' ? undefined : err?.code === 'RESOURCE_EXHAUSTED' ? 'ResourcesUnavailable' : 'ContainerMissing';
    c = setCondition(c, 'Ready', status, nowIso, reason, err?.message);
    c = setCondition(c, 'ContainerHealthy', status, nowIso, reason, err?.message);
    c = setCondition(c, 'ResourcesAvailable', status === 'True' || err?.code !== 'RESOURCE_EXHAUSTED' ? 'True' : 'False', nowIso);
    const next: Revision = {
      ...current,
      metadata: { ...current.metadata, resourceVersion: this.o.store.nextVersion() },
      status: { ...current.status, conditions: c },
    };
    this.o.store.putRevision(next);
    return next;
  }

  /** Resolve traffic, mark routes ready, publish to the route table, warm min instances. */
  private routeService(service: Service): void {
    const nowIso = new Date(this.o.clock.now()).toISOString();
    const targets = this.o.routes.resolve(service);
    service.status.traffic = targets.map((t): TrafficTarget => ({
      revisionName: t.revisionName,
      percent: t.percent,
      latestRevision: t.latestRevision,
      ...(t.tag ? { tag: t.tag, url: tagUrl(t.tag, service.metadata.name, this.o.urlBase) } : {}),
    }));
    const latestCreated = service.status.latestCreatedRevisionName;
    const configReady = latestCreated === service.status.latestReadyRevisionName;
    const routesReady = targets.length > 0;
    let c = service.status.conditions;
    if (configReady) c = setCondition(c, 'ConfigurationsReady', 'True', nowIso);
    c = setCondition(c, 'RoutesReady', routesReady ? 'True' : 'False', nowIso, routesReady ? undefined : 'NoReadyRevision', routesReady ? undefined : 'no revision is ready to serve');
    if (configReady && routesReady) c = setCondition(c, 'Ready', 'True', nowIso);
    service.status.conditions = c;
    this.saveService(service);
    this.refreshRoute(service);
    this.warmServing(service);
    // Revisions that no longer get traffic stop (after their in-flight requests).
    const serving = new Set(targets.map((t) => t.revisionName));
    for (const [name] of this.o.dispatchers.all()) {
      const r = this.o.store.findRevision(name);
      if (r && r.metadata.labels[KEYS.serviceLabel] === service.metadata.name && !serving.has(name) && name !== latestCreated) {
        void this.o.dispatchers.closePool(name);
      }
    }
  }

  private warmServing(service: Service): void {
    for (const t of service.status.traffic) {
      if (!t.revisionName) continue;
      const r = this.o.store.findRevision(t.revisionName);
      if (r && isReady(r.status.conditions) && revisionSettings({ metadata: { annotations: r.metadata.annotations }, spec: r.spec }).minInstances > 0) {
        this.o.dispatchers.pool(r).tick();
      }
    }
  }

  private refreshRoute(service: Service): void {
    const policy = this.o.store.findPolicy(service.metadata.name);
    const invokers = new Set(policy?.bindings.filter((b) => b.role === INVOKER).flatMap((b) => b.members) ?? []);
    const revisions = new Map<string, Revision>();
    for (const t of service.status.traffic) {
      if (!t.revisionName) continue;
      const r = this.o.store.findRevision(t.revisionName);
      if (r) revisions.set(r.metadata.name, r);
    }
    this.o.routes.set(service, revisions, invokers);
  }

  private saveService(service: Service): void {
    service.metadata.resourceVersion = this.o.store.nextVersion();
    this.o.store.putService(service);
  }
}

function msg(e: KumoError, revision: string): string {
  return e.message.startsWith(`revision ${revision}`) ? e.message : `revision ${revision}: ${e.message}`;
}
