/**
 * Verified tokens, remembered until they expire: an RS256 check costs tens of microseconds, and
 * clients send the same token on every call. Failures are never cached.
 */
import type { TokenClaims } from './tokens.js';

export function cachedVerifier(verify: (token: string) => TokenClaims, now: () => number, limit = 10_000): (token: string) => TokenClaims {
  const cache = new Map<string, TokenClaims>();
  return (token) => {
    const hit = cache.get(token);
    if (hit && hit.exp * 1000 > now()) return hit;
    if (hit) cache.delete(token);
    const claims = verify(token);
    if (cache.size >= limit) cache.clear();
    cache.set(token, claims);
    return claims;
  };
}
