/**
 * Who may call on the Google API port. APIs that deploy code or mint identity (Cloud Run Admin,
 * operations) need a kumo access token as `Authorization: Bearer`; `open` APIs (later: Pub/Sub's
 * data plane, as Google's emulator answers it) do not look at tokens at all, because the official
 * clients then send Google credentials kumo could not check anyway.
 */
import { bearerFrom } from '../auth/tokens.js';
import { KumoError } from '../shared/errors.js';
import type { AuthPolicy, Principal } from './plugin.types.js';

export interface AuthSettings {
  /** Checks a bearer token; throws KumoError (UNAUTHENTICATED / PERMISSION_DENIED) when it does not fit. */
  authenticate(token: string): Principal | Promise<Principal>;
  /** Let token-less calls from loopback peers through (emulator-style local use). Off by default. */
  openOnLoopback: boolean;
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d+\.\d+\.\d+$/.test(a);
}

/** The host part of a grpc-js peer string (`127.0.0.1:5000`, `[::1]:5000`, `ipv4:…`). */
export function peerAddress(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, '');
  if (p.startsWith('[')) return p.slice(1, p.indexOf(']'));
  const colon = p.lastIndexOf(':');
  return colon > 0 && p.indexOf(':') === colon ? p.slice(0, colon) : p;
}

export const TOKEN_HINT =
  'send a kumo access token as "Authorization: Bearer TOKEN" (get one with `kumo auth print-access-token`; ' +
  'gcloud: `gcloud config set auth/access_token_file FILE`; Node clients on insecure gRPC: pass it per call in otherArgs.headers)';

export async function authorize(
  policy: AuthPolicy,
  authorization: string | undefined,
  remoteAddress: string | undefined,
  settings: AuthSettings,
  method: string,
): Promise<Principal | undefined> {
  if (policy === 'open') return undefined;
  const token = bearerFrom(authorization);
  if (token) return settings.authenticate(token);
  if (authorization) {
    throw new KumoError('UNAUTHENTICATED', `the Authorization header of ${method} is not "Bearer TOKEN"; ${TOKEN_HINT}`);
  }
  if (settings.openOnLoopback && isLoopback(remoteAddress)) return { subject: 'anonymous@loopback', anonymous: true };
  throw new KumoError('UNAUTHENTICATED', `${method} needs a kumo access token: ${TOKEN_HINT}`);
}
