import { describe, expect, it } from 'vitest';
import { Sessions } from './sessions.js';

let n = 0;
const secrets = (bytes: number) => `s${bytes}-${++n}`;
const policy = { codeTtlMs: 60_000, sessionTtlMs: 3_600_000, maxCodes: 3, maxSessions: 2 };

describe('dashboard sign-in codes and sessions', () => {
  it('a code signs in once, within its lifetime', () => {
    const s = new Sessions(secrets, policy);
    const { code, expiresAtMs } = s.issueCode(1000);
    expect(expiresAtMs).toBe(61_000);
    const first = s.redeem(code, 2000);
    expect(first?.session).toMatchObject({ createdMs: 2000, expiresAtMs: 3_602_000 });
    expect(first?.session.csrfToken).toBeTruthy();
    expect(s.redeem(code, 2001)).toBeUndefined();
    expect(s.lookup(first?.id ?? '', 3000)).toBe(first?.session);
  });

  it('an expired code, an unknown code and an expired session are refused', () => {
    const s = new Sessions(secrets, policy);
    const { code } = s.issueCode(0);
    expect(s.redeem(code, 60_000)).toBeUndefined();
    expect(s.redeem('made-up', 1)).toBeUndefined();
    const ok = s.redeem(s.issueCode(0).code, 10);
    expect(s.lookup(ok?.id ?? '', 3_600_009)).toBeDefined();
    expect(s.lookup(ok?.id ?? '', 3_600_010)).toBeUndefined();
    expect(s.lookup(ok?.id ?? '', 0)).toBeUndefined(); // forgotten once expired
  });

  it('keeps at most maxCodes codes and maxSessions sessions, dropping the oldest', () => {
    const s = new Sessions(secrets, policy);
    const codes = [1, 2, 3, 4].map(() => s.issueCode(0).code);
    expect(s.redeem(codes[0] ?? '', 1)).toBeUndefined();
    const a = s.redeem(codes[1] ?? '', 1);
    const b = s.redeem(codes[2] ?? '', 1);
    const c = s.redeem(codes[3] ?? '', 1);
    expect(s.lookup(a?.id ?? '', 2)).toBeUndefined();
    expect(s.lookup(b?.id ?? '', 2)).toBeDefined();
    expect(s.lookup(c?.id ?? '', 2)).toBeDefined();
  });

  it('ending a session forgets it', () => {
    const s = new Sessions(secrets, policy);
    const a = s.redeem(s.issueCode(0).code, 0);
    s.end(a?.id ?? '');
    expect(s.lookup(a?.id ?? '', 1)).toBeUndefined();
  });
});
