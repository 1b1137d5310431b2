import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bearerFrom, loadOrCreateKeys, mintToken, verifyToken } from './tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'kumo-keys-'));
const keys = loadOrCreateKeys(dir);
const now = 1_800_000_000_000;

describe('tokens', () => {
  it('round-trips an access token', () => {
    const t = mintToken(keys, { sub: 'admin', aud: 'kumo', typ: 'access', nowMs: now, ttlSec: 3600 });
    const c = verifyToken(keys.publicKey, t, { aud: 'kumo', typ: 'access', nowMs: now + 1000 });
    expect(c.sub).toBe('admin');
  });

  it('keeps the same key across loads', () => {
    const again = loadOrCreateKeys(dir);
    const t = mintToken(keys, { sub: 'a', aud: 'kumo', typ: 'access', nowMs: now, ttlSec: 60 });
    expect(verifyToken(again.publicKey, t, { aud: 'kumo', nowMs: now }).sub).toBe('a');
  });

  it('refuses wrong audience, expiry, type and signature', () => {
    const t = mintToken(keys, { sub: 'a', aud: 'http://x.localhost:8080', typ: 'identity', nowMs: now, ttlSec: 60 });
    expect(() => verifyToken(keys.publicKey, t, { aud: 'http://y.localhost:8080', nowMs: now })).toThrow(/audience/);
    expect(() => verifyToken(keys.publicKey, t, { aud: 'http://x.localhost:8080', nowMs: now + 61_000 })).toThrow(/expired/);
    expect(() => verifyToken(keys.publicKey, t, { aud: 'http://x.localhost:8080', typ: 'access', nowMs: now })).toThrow(/identity token/);
    const other = loadOrCreateKeys(mkdtempSync(join(tmpdir(), 'kumo-keys-')));
    expect(() => verifyToken(other.publicKey, t, { aud: 'http://x.localhost:8080', nowMs: now })).toThrow(/signature/);
    expect(() => verifyToken(keys.publicKey, 'abc', { aud: 'kumo', nowMs: now })).toThrow(/not a JWT/);
  });

  it('reads bearer and basic credentials', () => {
    expect(bearerFrom('Bearer abc')).toBe('abc');
    expect(bearerFrom(`Basic ${Buffer.from('oauth2accesstoken:tok').toString('base64')}`)).toBe('tok');
    expect(bearerFrom(undefined)).toBeUndefined();
    expect(bearerFrom('Digest x')).toBeUndefined();
  });
});
