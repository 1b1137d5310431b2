/**
 * google.cloud.run.v2.Services and Revisions over ServingControl. Writes return long-running
 * operations backed by the control plane's stored operations; they complete when the revision is
 * Ready, or fail with its reason.
 */
import { randomUUID } from 'node:crypto';
import type { Operation } from '../../operations/operation.types.js';
import type { ServingControl } from '../../serving/control.js';
import type { Revision } from '../../serving/revision.types.js';
import type { Service } from '../../serving/service.types.js';
import { KEYS } from '../../serving/service.types.js';
import { KumoError, invalidArgument } from '../../shared/errors.js';
import type { JsonObject } from '../json.types.js';
import { isJsonObject } from '../json.types.js';
import type { OperationView } from '../operations.js';
import { operationToJson } from '../operations.js';
import { paginate } from '../paging.js';
import type { CallContext, UnaryHandler } from '../plugin.types.js';
import type { Scope } from './names.js';
import { inLocation, locationOf, parseName, parseParent } from './names.js';
import { serviceFromV2 } from './v2-in.js';
import { getPolicy, setPolicy, testPermissions } from './iam.js';
import { revisionToV2, serviceToV2 } from './v2-out.js';

export const SERVICE_TYPE = 'type.googleapis.com/google.cloud.run.v2.Service';
export const REVISION_TYPE = 'type.googleapis.com/google.cloud.run.v2.Revision';

const S = 'google.cloud.run.v2.Services';
const R = 'google.cloud.run.v2.Revisions';

export function actorOf(ctx: CallContext): string | undefined {
  return ctx.principal?.email ?? ctx.principal?.subject;
}

/** Remembers what a delete removed, so its operation can still answer with the Service. */
export class Snapshots {
  private readonly map = new Map<string, JsonObject>();
  constructor(private readonly limit = 1000) {}
  set(opName: string, value: JsonObject): void {
    this.map.set(opName, value);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value as string);
  }
  get(opName: string): JsonObject | undefined {
    return this.map.get(opName);
  }
}

/** How Cloud Run operations present their metadata and response (both a v2 Service). */
export function runOperationPresenter(control: ServingControl, snapshots: Snapshots): (op: Operation) => OperationView {
  const scope: Scope = control;
  return (op) => {
    let service = snapshots.get(op.name);
    if (!service && op.target.includes('/services/')) {
      try {
        service = serviceToV2(control.getService(op.target.split('/').at(-1) as string), scope);
      } catch {
        service = { name: op.target };
      }
    }
    if (!service) return {};
    const any = { '@type': SERVICE_TYPE, ...service };
    return { metadata: any, ...(op.done && !op.error ? { response: any } : {}) };
  };
}

/** An already-finished operation, for writes that finish at once (validate-only, revision delete). */
function doneOperation(parent: string, typeUrl: string, value: JsonObject): JsonObject {
  const any = { '@type': typeUrl, ...value };
  return { name: `${parent}/operations/${randomUUID()}`, done: true, metadata: any, response: any };
}

function revisionLocation(control: ServingControl, r: Revision): string {
  if (r.metadata.labels[KEYS.location]) return r.metadata.labels[KEYS.location] as string;
  try {
    return locationOf(control.getService(r.metadata.labels[KEYS.serviceLabel] ?? ''), control);
  } catch {
    return control.region;
  }
}

function requireObject(value: unknown, field: string): JsonObject {
  if (!isJsonObject(value)) throw invalidArgument([{ field, description: 'is required' }]);
  return value;
}

/** Apply an update mask of top-level Service fields onto the stored service. */
function masked(existing: JsonObject, patch: JsonObject, mask: string): JsonObject {
  const out = { ...existing };
  for (const path of mask.split(',').filter(Boolean)) {
    const top = path.split('.')[0] as string;
    if (patch[top] === undefined) delete out[top];
    else out[top] = patch[top];
  }
  out['etag'] = patch['etag'] ?? existing['etag'] ?? null;
  return out;
}

export function v2Handlers(control: ServingControl, snapshots: Snapshots): Record<string, UnaryHandler> {
  const scope: Scope = control;
  const present = runOperationPresenter(control, snapshots);
  const opJson = (op: Operation): JsonObject => operationToJson(op, present(op));
  const getIn = (service: string, location: string): Service => inLocation(control.getService(service), location, scope);

  return {
    [`${S}.CreateService`]: (req, ctx) => {
      const { location } = parseParent(req['parent'], scope);
      const id = req['serviceId'];
      if (typeof id !== 'string' || id === '') throw invalidArgument([{ field: 'serviceId', description: 'is required: the new service\'s name' }]);
      const input = serviceFromV2(requireObject(req['service'], 'service'), id);
      const actor = actorOf(ctx);
      const { service, operation } = control.applyService(input, { mode: 'create', region: location, validateOnly: req['validateOnly'] === true, ...(actor ? { actor } : {}) });
      if (!operation) return doneOperation(`projects/${scope.project}/locations/${location}`, SERVICE_TYPE, serviceToV2(service, scope));
      return opJson(operation);
    },
    [`${S}.GetService`]: (req) => {
      const n = parseName(req['name'], scope, 'service');
      return serviceToV2(getIn(n.service, n.location), scope);
    },
    [`${S}.ListServices`]: (req) => {
      const { location } = parseParent(req['parent'], scope);
      const all = control.listServices()
        .filter((s) => location === '-' || locationOf(s, scope) === location)
        .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
      const page = paginate(all, req['pageSize'] as number | undefined, req['pageToken'] as string | undefined);
      return { services: page.items.map((s) => serviceToV2(s, scope)), nextPageToken: page.nextPageToken };
    },
    [`${S}.UpdateService`]: (req, ctx) => {
      const patch = requireObject(req['service'], 'service');
      const n = parseName(patch['name'], scope, 'service', 'service.name');
      const allowMissing = req['allowMissing'] === true;
      let existing: Service | undefined;
      try {
        existing = getIn(n.service, n.location);
      } catch (err) {
        if (!(err instanceof KumoError) || err.code !== 'NOT_FOUND' || !allowMissing) throw err;
      }
      const mask = typeof req['updateMask'] === 'string' ? req['updateMask'] : '';
      const body = mask && existing ? masked(serviceToV2(existing, scope), patch, mask) : patch;
      const input = serviceFromV2(body, n.service);
      const actor = actorOf(ctx);
      const { service, operation } = control.applyService(input, { mode: existing ? 'replace' : 'apply', region: n.location, validateOnly: req['validateOnly'] === true, ...(actor ? { actor } : {}) });
      if (!operation) return doneOperation(`projects/${scope.project}/locations/${n.location}`, SERVICE_TYPE, serviceToV2(service, scope));
      return opJson(operation);
    },
    [`${S}.DeleteService`]: (req) => {
      const n = parseName(req['name'], scope, 'service');
      getIn(n.service, n.location);
      const etag = typeof req['etag'] === 'string' && req['etag'] ? req['etag'] : undefined;
      const { service, operation } = control.deleteService(n.service, { validateOnly: req['validateOnly'] === true, ...(etag ? { resourceVersion: etag } : {}) });
      const snapshot = serviceToV2(service, scope);
      if (!operation) return doneOperation(`projects/${scope.project}/locations/${n.location}`, SERVICE_TYPE, snapshot);
      snapshots.set(operation.name, snapshot);
      return opJson(operation);
    },
    [`${S}.GetIamPolicy`]: (req) => {
      const n = parseName(req['resource'], scope, 'service', 'resource');
      return getPolicy(control, getIn(n.service, n.location).metadata.name);
    },
    [`${S}.SetIamPolicy`]: (req) => {
      const n = parseName(req['resource'], scope, 'service', 'resource');
      return setPolicy(control, getIn(n.service, n.location).metadata.name, req['policy']);
    },
    [`${S}.TestIamPermissions`]: (req) => {
      parseName(req['resource'], scope, 'service', 'resource');
      return testPermissions(req);
    },
    [`${R}.GetRevision`]: (req) => {
      const n = parseName(req['name'], scope, 'revision');
      const r = control.getRevision(n.revision as string);
      if (r.metadata.labels[KEYS.serviceLabel] !== n.service) throw new KumoError('NOT_FOUND', `revision ${n.revision} does not belong to service ${n.service}`, { revision: n.revision as string });
      const location = revisionLocation(control, r);
      if (n.location !== '-' && n.location !== location) throw new KumoError('NOT_FOUND', `revision ${r.metadata.name} is in region ${location}, not ${n.location}`);
      return revisionToV2(r, scope, location);
    },
    [`${R}.ListRevisions`]: (req) => {
      const n = parseName(req['parent'], scope, 'service', 'parent');
      if (n.service !== '-') getIn(n.service, n.location);
      const all = control.listRevisions(n.service === '-' ? undefined : n.service)
        .map((r) => ({ r, location: revisionLocation(control, r) }))
        .filter((x) => n.location === '-' || x.location === n.location);
      const page = paginate(all, req['pageSize'] as number | undefined, req['pageToken'] as string | undefined);
      return { revisions: page.items.map((x) => revisionToV2(x.r, scope, x.location)), nextPageToken: page.nextPageToken };
    },
    [`${R}.DeleteRevision`]: (req) => {
      const n = parseName(req['name'], scope, 'revision');
      const r = control.getRevision(n.revision as string);
      if (r.metadata.labels[KEYS.serviceLabel] !== n.service) throw new KumoError('NOT_FOUND', `revision ${n.revision} does not belong to service ${n.service}`);
      if (req['validateOnly'] === true) return doneOperation(`projects/${scope.project}/locations/${n.location}`, REVISION_TYPE, revisionToV2(r, scope, n.location));
      const deleted = control.deleteRevision(r.metadata.name);
      return doneOperation(`projects/${scope.project}/locations/${n.location}`, REVISION_TYPE, revisionToV2(deleted, scope, revisionLocation(control, deleted)));
    },
  };
}
