/**
 * Who may call on the Google API port. APIs that deploy code or mint identity (Cloud Run Admin,
 * operations) need a kumo access token as `Authorization: Bearer`; `open` APIs (later: Pub/Sub's
 * data plane, as Google's emulator answers it) do not look at tokens at all, because the official
 * clients then send Google credentials kumo could not check anyway. Every decision is made from
 * the headers (gRPC metadata) and the connection, before any body is read.
 */
import { bearerFrom } from '../auth/tokens.js';
import { KumoError } from '../shared/errors.js';
import type { Origin } from '../shared/origin.js';
import { describeOrigin } from '../shared/origin.js';
import type { AuthPolicy, Principal } from './plugin.types.js';

export interface AuthSettings {
  /** Checks a bearer token; throws KumoError (UNAUTHENTICATED / PERMISSION_DENIED) when it does not fit. */
  authenticate(token: string): Principal | Promise<Principal>;
  /**
   * Let token-less calls from host processes on loopback through (emulator-style local use; the
   * connection's origin must be `host`, never one of kumo's instances). Off by default.
   */
  openOnLoopback: boolean;
}

export const TOKEN_HINT =
  'send a kumo access token as "Authorization: Bearer TOKEN" (get one with `kumo auth print-access-token`; ' +
  'gcloud: `gcloud config set auth/access_token_file FILE`; Node clients on insecure gRPC: pass it per call in otherArgs.headers)';

/**
 * Who may make this call, from its headers and its connection's origin only (bodies are read
 * after this). `origin` is asked only when it decides the answer: a token-less call on a server
 * started with `--api-open`.
 */
export async function authorize(
  policy: AuthPolicy,
  authorization: string | undefined,
  origin: () => Promise<Origin>,
  settings: AuthSettings,
  method: string,
): Promise<Principal | undefined> {
  if (policy === 'open') return undefined;
  const token = bearerFrom(authorization);
  if (token) return settings.authenticate(token);
  if (authorization) {
    throw new KumoError('UNAUTHENTICATED', `the Authorization header of ${method} is not "Bearer TOKEN"; ${TOKEN_HINT}`);
  }
  if (settings.openOnLoopback) {
    const from = await origin();
    if (from.kind === 'host') return { subject: 'anonymous@loopback', anonymous: true };
    throw new KumoError(
      'UNAUTHENTICATED',
      `${method} needs a kumo access token: this server's --api-open admits token-less calls only from processes on its own machine, and this call came from ${describeOrigin(from)}; ${TOKEN_HINT}`,
    );
  }
  throw new KumoError('UNAUTHENTICATED', `${method} needs a kumo access token: ${TOKEN_HINT}`);
}
