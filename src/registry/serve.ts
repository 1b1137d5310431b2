/**
 * A standalone registry process, for the registry benchmarks (the tests drive `kumo server`, whose
 * front door carries the registry): `node dist/registry/serve.js --home DIR [--port 0] [--anonymous-pull]`.
 * Prints `listening on 127.0.0.1:<port>` once ready. Tokens are verified against the key in DIR.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ACCESS_AUDIENCE, loadOrCreateKeys, verifyToken } from '../auth/tokens.js';
import { systemClock } from '../shared/clock.js';
import { openDatabase } from '../store/database.js';
import { createRegistry } from './index.js';

const { values } = parseArgs({
  options: {
    home: { type: 'string' },
    port: { type: 'string', default: '0' },
    'anonymous-pull': { type: 'boolean', default: false },
  },
});
if (!values.home) {
  console.error('usage: serve.js --home DIR [--port N] [--anonymous-pull]');
  process.exit(2);
}
const home = values.home;
const keys = loadOrCreateKeys(home);
const db = openDatabase(join(home, 'kumo.db'));
let port = 0;
const registry = createRegistry({
  home,
  db,
  clock: systemClock,
  authenticate: (token) => {
    const claims = verifyToken(keys.publicKey, token, { aud: ACCESS_AUDIENCE, typ: 'access', nowMs: Date.now() });
    return { sub: claims.sub, expiresAtMs: claims.exp * 1000 };
  },
  anonymousPull: values['anonymous-pull'],
  realm: (req) => `http://${req.headers.host ?? `127.0.0.1:${port}`}/v2/token`,
  pinned: () => [],
  publicHost: `127.0.0.1:${values.port}`,
});
const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => registry.handle(req, res));
server.listen(Number(values.port), '127.0.0.1', () => {
  port = (server.address() as AddressInfo).port;
  console.log(`listening on 127.0.0.1:${port}`);
});
const stop = (): void => {
  server.close();
  void registry.close().then(() => db.close());
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
