/**
 * kumo's signed tokens (RS256 JWTs), with the key pair kept in KUMO_HOME:
 * - access tokens (`aud` = `kumo`) authorize the admin API, the registry and the Google API port;
 * - identity tokens (`aud` = a service URL) let callers invoke private services.
 * Verification is pure given the public key and `now`.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KumoError } from '../shared/errors.js';

export const ACCESS_AUDIENCE = 'kumo';
export const ISSUER = 'https://kumo.local';

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  iat: number;
  exp: number;
  jti?: string;
  email?: string;
  /** `access` or `identity`. */
  typ: 'access' | 'identity';
}

export interface SigningKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Key id, published in token headers. */
  kid: string;
}

/** Load the key pair from `dir`, creating it (mode 0600) on first use. */
export function loadOrCreateKeys(dir: string): SigningKeys {
  const file = join(dir, 'signing-key.pem');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    renameSync(tmp, file);
  }
  chmodSync(file, 0o600);
  const privateKey = createPrivateKey(readFileSync(file));
  const publicKey = createPublicKey(privateKey);
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const kid = Buffer.from(der).toString('base64url').slice(-16);
  return { privateKey, publicKey, kid };
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export interface MintOptions {
  sub: string;
  aud: string;
  typ: 'access' | 'identity';
  nowMs: number;
  ttlSec: number;
  email?: string;
}

export function mintToken(keys: SigningKeys, o: MintOptions): string {
  const iat = Math.floor(o.nowMs / 1000);
  const claims: TokenClaims = {
    iss: ISSUER,
    sub: o.sub,
    aud: o.aud,
    iat,
    exp: iat + o.ttlSec,
    jti: randomUUID(),
    typ: o.typ,
    ...(o.email ? { email: o.email } : {}),
  };
  const head = b64json({ alg: 'RS256', typ: 'JWT', kid: keys.kid });
  const body = b64json(claims);
  const sig = sign('sha256', Buffer.from(`${head}.${body}`), keys.privateKey).toString('base64url');
  return `${head}.${body}.${sig}`;
}

/**
 * Check signature, expiry and audience. Throws KumoError: UNAUTHENTICATED for a token that is
 * not a kumo token at all, PERMISSION_DENIED for a valid token that does not fit (audience, expiry).
 */
export function verifyToken(
  publicKey: KeyObject,
  token: string,
  expect: { aud: string | readonly string[]; typ?: 'access' | 'identity'; nowMs: number },
): TokenClaims {
  const parts = token.split('.');
  if (parts.length !== 3) throw new KumoError('UNAUTHENTICATED', 'the bearer token is not a JWT (expected three dot-separated parts)');
  const [head, body, sig] = parts as [string, string, string];
  let header: { alg?: string };
  let claims: TokenClaims;
  try {
    header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg?: string };
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    throw new KumoError('UNAUTHENTICATED', 'the bearer token is not a JWT (its header or claims are not JSON)');
  }
  if (header.alg !== 'RS256') throw new KumoError('PERMISSION_DENIED', `token algorithm ${String(header.alg)} is not accepted; kumo signs RS256`);
  const ok = verify('sha256', Buffer.from(`${head}.${body}`), publicKey, Buffer.from(sig, 'base64url'));
  if (!ok) throw new KumoError('PERMISSION_DENIED', 'token signature does not verify against this kumo server\'s key; get a fresh one with `kumo auth print-access-token`');
  const nowSec = Math.floor(expect.nowMs / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= nowSec) {
    throw new KumoError('PERMISSION_DENIED', 'token has expired; mint a new one with `kumo auth print-access-token` or `kumo auth print-identity-token`');
  }
  const auds = typeof expect.aud === 'string' ? [expect.aud] : expect.aud;
  if (!auds.includes(claims.aud)) {
    throw new KumoError('PERMISSION_DENIED', `token audience "${claims.aud}" does not match; expected ${auds.map((a) => `"${a}"`).join(' or ')}`);
  }
  if (expect.typ && claims.typ !== expect.typ) {
    throw new KumoError('PERMISSION_DENIED', `a ${claims.typ} token was given where a ${expect.typ} token is needed`);
  }
  return claims;
}

/** The token from `Authorization: Bearer …`, or from Basic auth's password (docker login). */
export function bearerFrom(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const space = authorization.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = authorization.slice(0, space).toLowerCase();
  const value = authorization.slice(space + 1).trim();
  if (scheme === 'bearer') return value || undefined;
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) || undefined : undefined;
  }
  return undefined;
}
