import { describe, expect, it } from 'vitest';
import { cachedVerifier } from './token-cache.js';
import type { TokenClaims } from './tokens.js';

describe('cachedVerifier', () => {
  it('verifies a token once until it expires, and never caches a failure', () => {
    let now = 1_000_000;
    let calls = 0;
    const verify = (t: string): TokenClaims => {
      calls++;
      if (t === 'bad') throw new Error('bad signature');
      return { iss: 'i', sub: 's', aud: 'kumo', iat: 0, exp: 1_001, typ: 'access' };
    };
    const v = cachedVerifier(verify, () => now);
    expect(v('good').sub).toBe('s');
    expect(v('good').sub).toBe('s');
    expect(calls).toBe(1);
    expect(() => v('bad')).toThrow('bad signature');
    expect(() => v('bad')).toThrow('bad signature');
    expect(calls).toBe(3);
    now = 1_001_000; // expired: verified again (and the verifier decides)
    v('good');
    expect(calls).toBe(4);
  });
});
