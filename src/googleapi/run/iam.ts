/**
 * IAM on Cloud Run services, as far as kumo has it: a service is private (invoking it needs a kumo
 * identity token) or public (`allUsers` holds `roles/run.invoker`, stored as the annotation
 * `run.googleapis.com/invoker-iam-disabled`). The holder of a kumo access token is the admin and
 * holds every permission. Shared by v1 (gcloud) and v2 (client libraries).
 */
import type { ServingControl } from '../../serving/control.js';
import type { Service, ServiceInput } from '../../serving/service.types.js';
import { KEYS } from '../../serving/service.types.js';
import { KumoError, invalidArgument } from '../../shared/errors.js';
import type { Json, JsonObject } from '../json.types.js';
import { isJsonObject } from '../json.types.js';

export const INVOKER_ROLE = 'roles/run.invoker';

function etagOf(s: Service): string {
  return Buffer.from(`rv:${s.metadata.resourceVersion}`).toString('base64');
}

export function policyOf(s: Service): JsonObject {
  const open = s.metadata.annotations[KEYS.invokerIamDisabled] === 'true';
  return { version: 1, etag: etagOf(s), ...(open ? { bindings: [{ role: INVOKER_ROLE, members: ['allUsers'] }] } : {}) };
}

/** Whether a policy makes the service public; anything kumo cannot represent is refused by name. */
export function publicFromPolicy(policy: Json | undefined, path: string): boolean {
  if (!isJsonObject(policy)) throw invalidArgument([{ field: path, description: 'is required' }]);
  const bindings = Array.isArray(policy['bindings']) ? policy['bindings'] : [];
  let open = false;
  bindings.forEach((b, i) => {
    if (!isJsonObject(b)) return;
    const members = Array.isArray(b['members']) ? b['members'].map(String) : [];
    if (b['role'] !== INVOKER_ROLE) {
      throw invalidArgument([{ field: `${path}.bindings[${i}].role`, description: `kumo supports only ${INVOKER_ROLE} (for allUsers); the holder of a kumo access token already administers every service` }]);
    }
    if (b['condition'] !== undefined) throw invalidArgument([{ field: `${path}.bindings[${i}].condition`, description: 'conditional bindings are not supported by kumo' }]);
    members.forEach((m, j) => {
      if (m === 'allUsers') open = true;
      else throw invalidArgument([{ field: `${path}.bindings[${i}].members[${j}]`, description: `kumo grants ${INVOKER_ROLE} only to allUsers (public); callers of a private service present a kumo identity token instead of "${m}"` }]);
    });
  });
  return open;
}

/** Store the public/private choice on the service; returns the service as it now is. */
export function setPublic(control: ServingControl, service: Service, open: boolean, etag: Json | undefined, actor: string | undefined): Service {
  if (typeof etag === 'string' && etag !== '' && etag !== etagOf(service)) {
    throw new KumoError('ABORTED', `the policy of ${service.metadata.name} changed since it was read (etag mismatch); read it again and retry`, { service: service.metadata.name });
  }
  const current = service.metadata.annotations[KEYS.invokerIamDisabled] === 'true';
  if (current === open) return service;
  const annotations = { ...service.metadata.annotations };
  if (open) annotations[KEYS.invokerIamDisabled] = 'true';
  else delete annotations[KEYS.invokerIamDisabled];
  const input: ServiceInput = {
    metadata: { name: service.metadata.name, labels: service.metadata.labels, annotations, resourceVersion: service.metadata.resourceVersion },
    spec: { template: service.spec.template, traffic: service.spec.traffic },
  };
  return control.applyService(input, { mode: 'replace', ...(actor ? { actor } : {}) }).service;
}

/** A kumo admin holds every permission it asks about. */
export function testPermissions(request: Json | undefined): JsonObject {
  const perms = isJsonObject(request) && Array.isArray(request['permissions']) ? request['permissions'].map(String) : [];
  return perms.length ? { permissions: perms } : {};
}
