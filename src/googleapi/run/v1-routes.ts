/**
 * Cloud Run Admin API v1, Knative-shaped, as `gcloud run` drives it. Two URL forms reach the same
 * handlers: `/apis/serving.knative.dev/v1/namespaces/{project}/…` (the region is in the Host, since
 * gcloud dials `REGION-HOST`) and `/v1/projects/{project}/locations/{region|-}/…`. kumo stores the
 * Knative shape, so services and revisions go out exactly as stored.
 */
import type { ServingControl } from '../../serving/control.js';
import type { Revision } from '../../serving/revision.types.js';
import type { Container, Service } from '../../serving/service.types.js';
import { KEYS } from '../../serving/service.types.js';
import { KumoError, invalidArgument } from '../../shared/errors.js';
import type { JsonObject } from '../json.types.js';
import { paginate } from '../paging.js';
import type { CallContext, RestRequest, RestResponse, RestRoute } from '../plugin.types.js';
import type { Scope } from './names.js';
import { checkProject, inLocation, locationOf } from './names.js';
import { actorOf } from './v2-handlers.js';
import { serviceFromV1 } from './v1-in.js';
import { configurationOf, routeOf } from './v1-derived.js';
import { getPolicy, setPolicy, testPermissions } from './iam.js';
import { isJsonObject } from '../json.types.js';

/** `us-central1-run.kumo.test:8085` → `us-central1`; undefined when the host carries no region. */
export function regionFromHost(host: string): string | undefined {
  const m = /^([a-z]+(?:-[a-z]+)+\d+)-[^.:]/.exec(host.toLowerCase());
  return m ? m[1] : undefined;
}

interface Where {
  /** Region named by path or host; `-` means every region. */
  location: string;
  /** Region a create lands in. */
  createIn: string;
}

function where(req: RestRequest, ctx: CallContext, scope: Scope): Where {
  const project = req.params['namespace'] ?? req.params['project'] ?? '';
  checkProject(project, scope, 'namespace');
  const fromPath = req.params['location'];
  if (fromPath !== undefined) return { location: fromPath, createIn: fromPath === '-' ? scope.region : fromPath };
  const fromHost = regionFromHost(ctx.host);
  return { location: fromHost ?? '-', createIn: fromHost ?? scope.region };
}

/** Knative label selectors: `k=v`, `k==v`, `k!=v`, comma-separated (what gcloud sends). */
export function parseLabelSelector(text: string | null): (labels: Record<string, string>) => boolean {
  if (!text) return () => true;
  const tests = text.split(',').map((part) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*([^\s]*)\s*$/.exec(part);
    if (!m) throw invalidArgument([{ field: 'labelSelector', description: `"${part}" is not supported; kumo understands key=value and key!=value` }]);
    const [, key, op, value] = m as unknown as [string, string, string, string];
    return (labels: Record<string, string>) => (op === '!=' ? labels[key] !== value : labels[key] === value);
  });
  return (labels) => tests.every((t) => t(labels));
}

function list(kind: string, items: JsonObject[], req: RestRequest): JsonObject {
  const limit = req.query.get('limit');
  const page = paginate(items, limit ? Number(limit) : 1000, req.query.get('continue') ?? undefined, { default: 1000, max: 1000 });
  return { apiVersion: 'serving.knative.dev/v1', kind: `${kind}List`, metadata: page.nextPageToken ? { continue: page.nextPageToken } : {}, items: page.items, unreachable: [] };
}

function dryRun(req: RestRequest): boolean {
  const v = req.query.get('dryRun');
  return v !== null && v !== '';
}

const json = (value: unknown): JsonObject => value as JsonObject;

/**
 * Every container with an `image` string: a source deploy has none, and gcloud reads the field
 * as a string (`services update` crashes with a TypeError on a missing one).
 */
function withImages(containers: readonly Container[]): Container[] {
  return containers.map((c) => (c.image === undefined ? { ...c, image: '' } : c));
}
const serviceJson = (s: Service): Service => ({ ...s, spec: { ...s.spec, template: { ...s.spec.template, spec: { ...s.spec.template.spec, containers: withImages(s.spec.template.spec.containers) } } } });
const revisionJson = (r: Revision): Revision => ({ ...r, spec: { ...r.spec, containers: withImages(r.spec.containers) } });

export function v1Routes(control: ServingControl): RestRoute[] {
  const scope: Scope = control;
  const services = (w: Where, req: RestRequest): Service[] => {
    const select = parseLabelSelector(req.query.get('labelSelector'));
    return control.listServices()
      .filter((s) => (w.location === '-' || locationOf(s, scope) === w.location) && select(s.metadata.labels))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  };
  const getService = (w: Where, name: string): Service => inLocation(control.getService(name), w.location, scope);
  const revisionIn = (w: Where, r: Revision): boolean => {
    const at = r.metadata.labels[KEYS.location] ?? scope.region;
    return w.location === '-' || at === w.location;
  };
  const getRevision = (w: Where, name: string): Revision => {
    const r = control.getRevision(name);
    if (!revisionIn(w, r)) throw new KumoError('NOT_FOUND', `revision ${name} is not in region ${w.location}`, { revision: name });
    return r;
  };

  const handlers: Record<string, (req: RestRequest, ctx: CallContext, w: Where) => RestResponse> = {
    'services.list': (req, _ctx, w) => ({ body: list('Service', services(w, req).map((s) => json(serviceJson(s))), req) }),
    'services.get': (req, _ctx, w) => ({ body: json(serviceJson(getService(w, req.params['name'] ?? ''))) }),
    'services.create': (req, ctx, w) => {
      const input = serviceFromV1(req.body);
      const actor = actorOf(ctx);
      const { service } = control.applyService(input, { mode: 'create', region: w.createIn, validateOnly: dryRun(req), ...(actor ? { actor } : {}) });
      return { body: json(serviceJson(service)) };
    },
    'services.replace': (req, ctx, w) => {
      const name = req.params['name'] ?? '';
      const input = serviceFromV1(req.body, name);
      let exists = true;
      try {
        getService(w, name);
      } catch (err) {
        if (!(err instanceof KumoError) || err.code !== 'NOT_FOUND') throw err;
        exists = false;
      }
      const actor = actorOf(ctx);
      // gcloud deploys by replace for existing services; Knative's PUT needs the object to exist.
      const { service } = control.applyService(input, { mode: exists ? 'replace' : 'create', region: w.createIn, validateOnly: dryRun(req), ...(actor ? { actor } : {}) });
      return { body: json(serviceJson(service)) };
    },
    'services.delete': (req, _ctx, w) => {
      const name = req.params['name'] ?? '';
      getService(w, name);
      const { service } = control.deleteService(name, { validateOnly: dryRun(req) });
      return { body: { apiVersion: 'v1', kind: 'Status', status: 'Success', metadata: {}, details: { name, group: 'serving.knative.dev', kind: 'services', uid: service.metadata.uid } } };
    },
    'revisions.list': (req, _ctx, w) => {
      const select = parseLabelSelector(req.query.get('labelSelector'));
      const items = control.listRevisions().filter((r) => revisionIn(w, r) && select(r.metadata.labels));
      return { body: list('Revision', items.map((r) => json(revisionJson(r))), req) };
    },
    'revisions.get': (req, _ctx, w) => ({ body: json(revisionJson(getRevision(w, req.params['name'] ?? ''))) }),
    'revisions.delete': (req, _ctx, w) => {
      const r = getRevision(w, req.params['name'] ?? '');
      if (!dryRun(req)) control.deleteRevision(r.metadata.name);
      return { body: { apiVersion: 'v1', kind: 'Status', status: 'Success', metadata: {}, details: { name: r.metadata.name, group: 'serving.knative.dev', kind: 'revisions', uid: r.metadata.uid } } };
    },
    'configurations.list': (req, _ctx, w) => ({ body: list('Configuration', services(w, req).map((s) => configurationOf(serviceJson(s))), req) }),
    'configurations.get': (req, _ctx, w) => ({ body: configurationOf(serviceJson(getService(w, req.params['name'] ?? ''))) }),
    'routes.list': (req, _ctx, w) => ({ body: list('Route', services(w, req).map((s) => routeOf(s)), req) }),
    'routes.get': (req, _ctx, w) => ({ body: routeOf(getService(w, req.params['name'] ?? '')) }),
    'services.getIamPolicy': (req, _ctx, w) => ({ body: getPolicy(control, getService(w, req.params['name'] ?? '').metadata.name) }),
    'services.setIamPolicy': (req, _ctx, w) => {
      const service = getService(w, req.params['name'] ?? '');
      return { body: setPolicy(control, service.metadata.name, isJsonObject(req.body) ? req.body['policy'] : undefined) };
    },
    // Like Cloud Run, answer for services that do not exist yet (gcloud asks before creating one).
    'services.testIamPermissions': (req) => ({ body: testPermissions(req.body) }),
  };

  const table: [RestRoute['method'], string, string][] = [
    ['GET', 'services', 'services.list'],
    ['POST', 'services', 'services.create'],
    ['GET', 'services/{name}', 'services.get'],
    ['PUT', 'services/{name}', 'services.replace'],
    ['DELETE', 'services/{name}', 'services.delete'],
    ['GET', 'revisions', 'revisions.list'],
    ['GET', 'revisions/{name}', 'revisions.get'],
    ['DELETE', 'revisions/{name}', 'revisions.delete'],
    ['GET', 'configurations', 'configurations.list'],
    ['GET', 'configurations/{name}', 'configurations.get'],
    ['GET', 'routes', 'routes.list'],
    ['GET', 'routes/{name}', 'routes.get'],
  ];
  const iamTable: [RestRoute['method'], string, string][] = [
    ['GET', 'services/{name}:getIamPolicy', 'services.getIamPolicy'],
    ['POST', 'services/{name}:setIamPolicy', 'services.setIamPolicy'],
    ['POST', 'services/{name}:testIamPermissions', 'services.testIamPermissions'],
  ];
  const prefixes = ['/apis/serving.knative.dev/v1/namespaces/{namespace}', '/v1/projects/{project}/locations/{location}'];
  const routes: RestRoute[] = [];
  for (const prefix of prefixes) {
    // IAM lives only on the projects/locations form, as on Cloud Run.
    const rows = prefix.startsWith('/v1/') ? [...table, ...iamTable] : table;
    for (const [method, suffix, id] of rows) {
      const handler = handlers[id];
      if (!handler) continue;
      routes.push({
        id: `run.v1.${id}`,
        method,
        template: `${prefix}/${suffix}`,
        handle: (req, ctx) => handler(req, ctx, where(req, ctx, scope)),
      });
    }
  }
  return routes;
}
