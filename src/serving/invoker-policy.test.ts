import { describe, expect, it } from 'vitest';
import { isPublic, withPublicAccess } from './invoker-policy.js';

describe('public and private services', () => {
  it('adds and removes allUsers, keeping other invokers and roles', () => {
    const p = { bindings: [{ role: 'roles/run.invoker', members: ['user:ann@example.com'] }, { role: 'roles/run.admin', members: ['user:bob@example.com'] }], etag: 'e1' };
    const open = withPublicAccess(p, true);
    expect(isPublic(open)).toBe(true);
    expect(open).toEqual({
      bindings: [{ role: 'roles/run.admin', members: ['user:bob@example.com'] }, { role: 'roles/run.invoker', members: ['user:ann@example.com', 'allUsers'] }],
      etag: 'e1',
    });
    const closed = withPublicAccess(open, false);
    expect(isPublic(closed)).toBe(false);
    expect(closed.bindings).toContainEqual({ role: 'roles/run.invoker', members: ['user:ann@example.com'] });
    expect(withPublicAccess({ bindings: [{ role: 'roles/run.invoker', members: ['allUsers'] }] }, false)).toEqual({ bindings: [] });
  });
});
