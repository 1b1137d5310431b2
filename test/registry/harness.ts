/**
 * A registry on an ephemeral loopback port for tests: a real http.Server calling `registry.handle`,
 * a real SQLite file and blob store in a fresh temp KUMO_HOME, real RS256 tokens.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ACCESS_AUDIENCE, loadOrCreateKeys, mintToken, verifyToken } from '../../src/auth/tokens.js';
import type { SigningKeys } from '../../src/auth/tokens.js';
import type { Clock } from '../../src/shared/clock.js';
import { systemClock } from '../../src/shared/clock.js';
import type { Database } from '../../src/store/database.js';
import { openDatabase } from '../../src/store/database.js';
import type { PinnedImage, Registry, RegistryOptions } from '../../src/registry/index.js';
import { createRegistry } from '../../src/registry/index.js';

export const run = promisify(execFile);

export interface TestRegistry {
  registry: Registry;
  home: string;
  db: Database;
  keys: SigningKeys;
  /** `127.0.0.1:<port>` */
  host: string;
  base: string;
  token: string;
  /** Authorization header value carrying a valid token. */
  auth: string;
  pinned: PinnedImage[];
  close(): Promise<void>;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `kumo-${prefix}-`));
}

export async function startRegistry(o: Partial<RegistryOptions> & { home?: string; clock?: Clock } = {}): Promise<TestRegistry> {
  const home = o.home ?? tempDir('registry');
  const keys = loadOrCreateKeys(join(home, 'keys'));
  const db = openDatabase(join(home, 'kumo.db'));
  const clock = o.clock ?? systemClock;
  const pinned: PinnedImage[] = [];
  let port = 0;
  const registry = createRegistry({
    home,
    db,
    clock,
    authenticate: (token) => {
      const c = verifyToken(keys.publicKey, token, { aud: ACCESS_AUDIENCE, typ: 'access', nowMs: clock.now() });
      return { sub: c.sub, expiresAtMs: c.exp * 1000 };
    },
    realm: () => `http://127.0.0.1:${port}/v2/token`,
    pinned: () => pinned,
    gcIntervalMs: 0,
    onInternalError: (err) => console.error('registry internal error', err),
    ...o,
  });
  const server: Server = createServer((req, res) => registry.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  const token = mintToken(keys, { sub: 'tester@kumo', aud: ACCESS_AUDIENCE, typ: 'access', nowMs: clock.now(), ttlSec: 30 * 86_400 });
  return {
    registry,
    home,
    db,
    keys,
    host: `127.0.0.1:${port}`,
    base: `http://127.0.0.1:${port}`,
    token,
    auth: `Bearer ${token}`,
    pinned,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await registry.close();
      db.close();
      if (!o.home) rmSync(home, { recursive: true, force: true });
    },
  };
}
