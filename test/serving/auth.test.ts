import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeys, mintToken } from '../../src/auth/tokens.js';
import { call, HELLO_DIR, removeHome, startKumo, uniqueName } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';

let k: KumoServer;
let name: string;
let url: string;
beforeAll(async () => {
  k = await startKumo();
  name = uniqueName('private');
  const r = k.cli(['run', 'deploy', name, '--source', HELLO_DIR]);
  expect(r.code, r.stderr).toBe(0);
  url = `http://${name}.localhost:${k.port}`;
});
afterAll(async () => {
  await k.stop();
  removeHome(k);
});

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('invoker check on private services', () => {
  it('answers 401 without a token, naming how to get one', async () => {
    const r = await call(k, `${name}.localhost`);
    expect(r.status).toBe(401);
    expect(r.body).toContain('kumo auth print-identity-token --audiences');
  });

  it('answers 200 with an identity token for the service URL', async () => {
    const token = k.cli(['auth', 'print-identity-token', '--audiences', url]).stdout.trim();
    const r = await call(k, `${name}.localhost`, '/', { headers: bearer(token) });
    expect(r.status).toBe(200);
  });

  it('answers 403 for a wrong audience, an expired token, a bad signature or an access token', async () => {
    const keys = loadOrCreateKeys(join(k.home, 'keys'));
    const other = loadOrCreateKeys(mkdtempSync(join(tmpdir(), 'kumo-other-keys-')));
    const cases: [string, RegExp][] = [
      [k.cli(['auth', 'print-identity-token', '--audiences', 'http://someone-else.localhost:1']).stdout.trim(), /audience/],
      [mintToken(keys, { sub: 'admin', aud: url, typ: 'identity', nowMs: Date.now() - 7_200_000, ttlSec: 3600 }), /expired/],
      [mintToken(other, { sub: 'admin', aud: url, typ: 'identity', nowMs: Date.now(), ttlSec: 3600 }), /signature/],
      [k.cli(['auth', 'print-access-token']).stdout.trim(), /access token was given where a identity token is needed|audience/],
      ['not-a-jwt', /not a JWT|not accepted/],
    ];
    for (const [token, why] of cases) {
      const r = await call(k, `${name}.localhost`, '/', { headers: bearer(token) });
      expect(r.status, token).toBe(403);
      expect(r.body).toMatch(why);
    }
  });

  it('does not let a token that opened one service open another', async () => {
    const other = uniqueName('other');
    expect(k.cli(['run', 'deploy', other, '--source', HELLO_DIR]).code).toBe(0);
    const token = k.cli(['auth', 'print-identity-token', '--audiences', url]).stdout.trim();
    expect((await call(k, `${name}.localhost`, '/', { headers: bearer(token) })).status).toBe(200);
    const r = await call(k, `${other}.localhost`, '/', { headers: bearer(token) });
    expect(r.status).toBe(403);
    expect(r.body).toContain('audience');
  });

  it('answers 403 for a principal the policy does not allow, 200 once it is granted', async () => {
    const sa = 'invoker@kumo-project.iam.gserviceaccount.com';
    const token = k.cli(['auth', 'print-identity-token', '--audiences', url, '--impersonate-service-account', sa]).stdout.trim();
    const denied = await call(k, `${name}.localhost`, '/', { headers: bearer(token) });
    expect(denied.status).toBe(403);
    expect(denied.body).toContain(`${sa} may not invoke ${name}`);
    expect(k.cli(['run', 'services', 'add-iam-policy-binding', name, `--member=serviceAccount:${sa}`, '--role=roles/run.invoker']).code).toBe(0);
    expect((await call(k, `${name}.localhost`, '/', { headers: bearer(token) })).status).toBe(200);
  });

  it('opens the service to everyone with --allow-unauthenticated, and closes it again', async () => {
    expect(k.cli(['run', 'deploy', name, '--allow-unauthenticated']).code).toBe(0);
    expect((await call(k, `${name}.localhost`)).status).toBe(200);
    expect(k.cli(['run', 'deploy', name, '--no-allow-unauthenticated']).code).toBe(0);
    expect((await call(k, `${name}.localhost`)).status).toBe(401);
  });

  it('never opens the admin API without an access token', async () => {
    const none = await fetch(`${k.url}/api/services`);
    expect(none.status).toBe(401);
    const identity = k.cli(['auth', 'print-identity-token', '--audiences', url]).stdout.trim();
    const wrong = await fetch(`${k.url}/api/services`, { headers: bearer(identity) });
    expect(wrong.status).toBe(403);
    const ok = await fetch(`${k.url}/api/services`, { headers: bearer(k.cli(['auth', 'print-access-token']).stdout.trim()) });
    expect(ok.status).toBe(200);
  });
});
