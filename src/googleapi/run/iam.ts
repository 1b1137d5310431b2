/**
 * IAM on Cloud Run services (get, set, test), mapped between the wire's google.iam.v1 Policy and
 * the control plane's IamPolicy. The holder of a kumo access token administers everything, so
 * testIamPermissions grants every permission asked about. Shared by v1 (gcloud) and v2.
 */
import type { IamPolicy, ServingControl } from '../../serving/control.js';
import { invalidArgument } from '../../shared/errors.js';
import type { FieldViolation } from '../../shared/errors.js';
import type { Json, JsonObject } from '../json.types.js';
import { isJsonObject } from '../json.types.js';

export function policyToJson(p: IamPolicy): JsonObject {
  return {
    version: p.version ?? 1,
    ...(p.etag ? { etag: p.etag } : {}),
    ...(p.bindings.length ? { bindings: p.bindings.map((b) => ({ role: b.role, members: [...b.members] })) } : {}),
  };
}

/** A wire Policy → IamPolicy; conditions and audit configs are refused by name (kumo would drop them). */
export function policyFromJson(value: Json | undefined, path: string): IamPolicy {
  if (!isJsonObject(value)) throw invalidArgument([{ field: path, description: 'is required' }]);
  const v: FieldViolation[] = [];
  if (Array.isArray(value['auditConfigs']) && value['auditConfigs'].length > 0) v.push({ field: `${path}.auditConfigs`, description: 'kumo does not support audit configs; remove them' });
  const bindings = (Array.isArray(value['bindings']) ? value['bindings'] : []).map((b, i) => {
    const o = isJsonObject(b) ? b : {};
    if (o['condition'] !== undefined && o['condition'] !== null) v.push({ field: `${path}.bindings[${i}].condition`, description: 'conditional role bindings are not supported by kumo' });
    if (typeof o['role'] !== 'string') v.push({ field: `${path}.bindings[${i}].role`, description: 'is required, e.g. roles/run.invoker' });
    const members = Array.isArray(o['members']) ? o['members'].filter((m): m is string => typeof m === 'string') : [];
    return { role: typeof o['role'] === 'string' ? o['role'] : '', members };
  });
  if (v.length > 0) throw invalidArgument(v);
  return { version: 1, bindings, ...(typeof value['etag'] === 'string' && value['etag'] ? { etag: value['etag'] } : {}) };
}

export function getPolicy(control: ServingControl, service: string): JsonObject {
  return policyToJson(control.getIamPolicy(service));
}

export function setPolicy(control: ServingControl, service: string, policy: Json | undefined): JsonObject {
  return policyToJson(control.setIamPolicy(service, policyFromJson(policy, 'policy')));
}

/** A kumo admin holds every permission it asks about. */
export function testPermissions(request: Json | undefined): JsonObject {
  const perms = isJsonObject(request) && Array.isArray(request['permissions']) ? request['permissions'].filter((p): p is string => typeof p === 'string') : [];
  return perms.length ? { permissions: perms } : {};
}
