/** Public or private: `allUsers` in the `roles/run.invoker` binding of a service's IAM policy. Pure. */
import type { IamPolicy } from './control.js';

export const INVOKER_ROLE = 'roles/run.invoker';
export const ALL_USERS = 'allUsers';

export function isPublic(policy: IamPolicy): boolean {
  return policy.bindings.some((b) => b.role === INVOKER_ROLE && b.members.includes(ALL_USERS));
}

/** The policy with `allUsers` added to or removed from the invoker role; other members and roles kept. */
export function withPublicAccess(policy: IamPolicy, allow: boolean): IamPolicy {
  const others = policy.bindings
    .map((b) => (b.role === INVOKER_ROLE ? { ...b, members: b.members.filter((m) => m !== ALL_USERS) } : b))
    .filter((b) => b.members.length > 0);
  const invokers = others.find((b) => b.role === INVOKER_ROLE)?.members ?? [];
  const bindings = allow ? [...others.filter((b) => b.role !== INVOKER_ROLE), { role: INVOKER_ROLE, members: [...invokers, ALL_USERS] }] : others;
  return { bindings, ...(policy.etag ? { etag: policy.etag } : {}) };
}
