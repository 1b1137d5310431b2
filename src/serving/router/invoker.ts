/**
 * The invoker check for private services (Cloud Run's `roles/run.invoker`): a kumo identity
 * token whose audience is the service URL, from a principal the policy allows. Verified tokens
 * are cached until they expire so the check costs one Map lookup on the hot path.
 */
import type { KeyObject } from 'node:crypto';
import { bearerFrom, verifyToken } from '../../auth/tokens.js';
import type { TokenClaims } from '../../auth/tokens.js';
import { KumoError } from '../../shared/errors.js';
import type { RouteEntry } from '../route-table.js';

const CACHE_LIMIT = 10_000;

export class InvokerCheck {
  private readonly cache = new Map<string, TokenClaims>();

  constructor(private readonly publicKey: KeyObject, private readonly now: () => number) {}

  /** Undefined when the caller may invoke; otherwise the error to answer with (401 or 403). */
  check(entry: RouteEntry, authorization: string | undefined): KumoError | undefined {
    if (entry.public) return undefined;
    const token = bearerFrom(authorization);
    if (!token) {
      return new KumoError(
        'UNAUTHENTICATED',
        `service ${entry.service} is private: send "Authorization: Bearer $(kumo auth print-identity-token --audiences ${entry.url})", or redeploy with --allow-unauthenticated to make it public`,
        { service: entry.service },
      );
    }
    const nowMs = this.now();
    let claims = this.cache.get(token);
    if (claims && claims.exp * 1000 <= nowMs) {
      this.cache.delete(token);
      claims = undefined;
    }
    if (!claims) {
      try {
        claims = verifyToken(this.publicKey, token, { aud: entry.audiences, typ: 'identity', nowMs });
      } catch (err) {
        const e = err as KumoError;
        // Cloud Run answers 403 for a token it does not accept, whatever the reason.
        return new KumoError('PERMISSION_DENIED', `${e.message} (service ${entry.service} expects an identity token with audience ${entry.url})`, { service: entry.service });
      }
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(token, claims);
    }
    // The cache is keyed by token alone: a token verified for one service must not open another.
    if (!entry.audiences.includes(claims.aud)) {
      return new KumoError('PERMISSION_DENIED', `token audience "${claims.aud}" does not match; service ${entry.service} expects an identity token with audience ${entry.url}`, {
        service: entry.service,
      });
    }
    if (this.allowed(entry, claims)) return undefined;
    return new KumoError(
      'PERMISSION_DENIED',
      `${claims.email ?? claims.sub} may not invoke ${entry.service}; grant it with \`kumo run services add-iam-policy-binding ${entry.service} --member=serviceAccount:${claims.email ?? claims.sub} --role=roles/run.invoker\``,
      { service: entry.service },
    );
  }

  private allowed(entry: RouteEntry, c: TokenClaims): boolean {
    if (c.sub === 'admin') return true;
    if (entry.invokers.has('allAuthenticatedUsers')) return true;
    const email = c.email ?? c.sub;
    return entry.invokers.has(`user:${email}`) || entry.invokers.has(`serviceAccount:${email}`);
  }
}
