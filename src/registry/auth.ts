/**
 * Registry access, GCR's way: a kumo access token, given as the password of Basic auth with the
 * username `oauth2accesstoken` (what `docker login` stores) or as a Bearer token. Docker's clients
 * first meet a `WWW-Authenticate: Bearer realm=…` challenge, trade their Basic credentials for a
 * token at the realm (`/v2/token`), then send it as Bearer.
 */
import type { IncomingMessage } from 'node:http';
import { RegistryError } from './errors.js';

/** The username Google's registries use for access-token logins. */
export const TOKEN_USERNAME = 'oauth2accesstoken';
export const REGISTRY_SERVICE = 'kumo-registry';

export type Access = 'pull' | 'push';

export interface AccessCheck {
  /** Verify a kumo access token; throws KumoError UNAUTHENTICATED / PERMISSION_DENIED. */
  authenticate(token: string): { sub: string; expiresAtMs?: number };
  anonymousPull: boolean;
}

export interface Credentials {
  scheme: 'basic' | 'bearer';
  username?: string;
  token: string;
}

export function credentialsOf(authorization: string | undefined): Credentials | undefined {
  if (!authorization) return undefined;
  const space = authorization.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = authorization.slice(0, space).toLowerCase();
  const value = authorization.slice(space + 1).trim();
  if (scheme === 'bearer' && value) return { scheme: 'bearer', token: value };
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return { scheme: 'basic', username: decoded.slice(0, colon), token: decoded.slice(colon + 1) };
  }
  return undefined;
}

const LOGIN_HINT = `log in with: docker login <host> -u ${TOKEN_USERNAME} -p "$(kumo auth print-access-token)"`;

/**
 * The token the token endpoint hands out without credentials when anonymous pull is on. It carries
 * no rights of its own: it only lets token-flow clients (docker, skopeo) proceed to pull anonymously.
 */
export const ANONYMOUS_TOKEN = 'anonymous';

/**
 * Check the request's credentials for `access`. Returns the subject, or `anonymous` for an allowed
 * anonymous pull. `/v2/` itself (`access` = `ping`) always challenges a request without credentials,
 * as GCR and Docker Hub do, because clients decide there whether to send the credentials they hold.
 */
export function authorize(check: AccessCheck, authorization: string | undefined, access: Access | 'ping'): string {
  const creds = credentialsOf(authorization);
  const anonymous = !creds || (creds.scheme === 'bearer' && creds.token === ANONYMOUS_TOKEN);
  if (anonymous) {
    if (check.anonymousPull && (access === 'pull' || (access === 'ping' && creds))) return 'anonymous';
    throw new RegistryError('UNAUTHORIZED', `authentication required; ${LOGIN_HINT}`);
  }
  return verify(check, creds).sub;
}

export function verify(check: AccessCheck, creds: Credentials): { sub: string; expiresAtMs?: number } {
  if (creds.scheme === 'basic' && creds.username !== TOKEN_USERNAME) {
    throw new RegistryError('UNAUTHORIZED', `unknown username "${creds.username ?? ''}": use ${TOKEN_USERNAME} with a kumo access token as the password; ${LOGIN_HINT}`);
  }
  try {
    return check.authenticate(creds.token);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new RegistryError('UNAUTHORIZED', `the credentials were refused: ${why}`);
  }
}

/** The challenge Docker's clients expect on a 401. */
export function challenge(realm: string, scope: string | undefined): string {
  return `Bearer realm="${realm}",service="${REGISTRY_SERVICE}"${scope ? `,scope="${scope}"` : ''}`;
}

export function scopeOf(repository: string | undefined, access: Access): string | undefined {
  return repository ? `repository:${repository}:${access === 'push' ? 'pull,push' : 'pull'}` : undefined;
}

/** What the token endpoint answers (Docker token auth, and the OAuth2 password grant). */
export interface TokenReply {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

/**
 * The token endpoint: verify the Basic credentials (or the form's username/password) and hand the
 * kumo access token back as the registry token; it is already what every /v2/ call accepts.
 */
export function issueToken(check: AccessCheck, req: IncomingMessage, form: URLSearchParams | undefined, nowMs: number): TokenReply {
  let creds = credentialsOf(req.headers.authorization);
  if (!creds && form?.get('grant_type') === 'password') {
    creds = { scheme: 'basic', username: form.get('username') ?? '', token: form.get('password') ?? '' };
  }
  if (!creds) {
    if (check.anonymousPull) {
      return { token: ANONYMOUS_TOKEN, access_token: ANONYMOUS_TOKEN, expires_in: 3600, issued_at: new Date(nowMs).toISOString() };
    }
    throw new RegistryError('UNAUTHORIZED', `the token endpoint needs credentials; ${LOGIN_HINT}`);
  }
  const who = verify(check, creds);
  const expiresIn = who.expiresAtMs ? Math.max(1, Math.floor((who.expiresAtMs - nowMs) / 1000)) : 300;
  return { token: creds.token, access_token: creds.token, expires_in: expiresIn, issued_at: new Date(nowMs).toISOString() };
}
