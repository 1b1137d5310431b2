import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Revision } from '../../src/serving/revision.types.js';
import type { Service } from '../../src/serving/service.types.js';
import { call, deployHello, removeHome, startKumo, uniqueName } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';

let k: KumoServer;
beforeAll(async () => {
  k = await startKumo(['--idle-grace', '5s', '--startup-timeout', '3s']);
});
afterAll(async () => {
  await k.stop();
  removeHome(k);
});

describe('deploy through the CLI', () => {
  it('deploys a folder, shows progress, and answers at its own URL', () => {
    const name = uniqueName('hello');
    const r = k.cli(['run', 'deploy', name, '--source', join(import.meta.dirname, '..', '..', 'examples', 'hello'), '--allow-unauthenticated', '--set-env-vars', 'GREETING=hi']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('✓ Uploading source');
    expect(r.stdout).toMatch(new RegExp(`✓ Creating revision ${name}-00001-[a-z0-9]{3}`));
    expect(r.stdout).toContain('✓ Starting an instance');
    expect(r.stdout).toContain('✓ Routing traffic');
    expect(r.stdout).toContain(`Service URL: http://${name}.localhost:${k.port}`);
    return call(k, `${name}.localhost`, '/env').then((reply) => {
      expect(reply.status).toBe(200);
      const env = (JSON.parse(reply.body) as { env: Record<string, string> }).env;
      expect(env.GREETING).toBe('hi');
      expect(env.K_SERVICE).toBe(name);
      expect(env.K_REVISION).toMatch(new RegExp(`^${name}-00001-`));
      expect(env.K_CONFIGURATION).toBe(name);
      expect(env.GOOGLE_CLOUD_PROJECT).toBe('kumo-project');
      expect(Number(env.PORT)).toBeGreaterThan(0);
    });
  });

  it('pins the source: changing the folder after deploy changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-src-'));
    writeFileSync(join(dir, 'server.js'), `require('http').createServer((q, s) => s.end('v1')).listen(process.env.PORT);`);
    const name = uniqueName('pinned');
    deployHello(k, name, ['--source', dir]);
    writeFileSync(join(dir, 'server.js'), `require('http').createServer((q, s) => s.end('v2')).listen(process.env.PORT);`);
    expect((await call(k, `${name}.localhost`)).body).toBe('v1');
    deployHello(k, name, ['--source', dir]);
    expect((await call(k, `${name}.localhost`)).body).toBe('v2');
    const revs = JSON.parse(k.cli(['run', 'revisions', 'list', '--service', name, '--format', 'json']).stdout) as Revision[];
    expect(revs.map((r) => r.metadata.name)).toEqual([expect.stringMatching(/-00002-/), expect.stringMatching(/-00001-/)]);
  });

  it('keeps the previous revision serving when a deploy fails, and says why', async () => {
    const name = uniqueName('keep');
    deployHello(k, name);
    const bad = k.cli(['run', 'deploy', name, '--command', 'node', '--args', '-e,console.error("cannot find config file");process.exit(7)']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('exited with code 7 before it listened');
    expect(bad.stderr).toContain('cannot find config file');
    expect(bad.stderr).toMatch(/Traffic stays on revision .*-00001-/);
    const reply = await call(k, `${name}.localhost`);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatch(/revision .*-00001-/);
    const svc = JSON.parse(k.cli(['run', 'services', 'describe', name, '--format', 'json']).stdout) as Service;
    expect(svc.status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'RevisionFailed' });
    expect(svc.status.latestCreatedRevisionName).toMatch(/-00002-/);
    expect(svc.status.latestReadyRevisionName).toMatch(/-00001-/);
  });

  it('fails a deploy whose app never listens, with the PORT hint', () => {
    const name = uniqueName('deaf');
    const dir = mkdtempSync(join(tmpdir(), 'kumo-src-'));
    writeFileSync(join(dir, 'server.js'), `console.log('listening on 127.0.0.1:3000 (not PORT)'); setInterval(() => {}, 1000);`);
    const r = k.cli(['run', 'deploy', name, '--source', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/did not listen on PORT=\d+ within 3 s; does it read the PORT environment variable\?/);
    expect(r.stderr).toContain('listening on 127.0.0.1:3000 (not PORT)');
  });

  it('lists and describes services and revisions in every format', () => {
    const name = uniqueName('fmt');
    deployHello(k, name);
    const table = k.cli(['run', 'services', 'list']);
    expect(table.stdout).toMatch(/SERVICE\s+REGION\s+URL/);
    expect(table.stdout).toContain(name);
    const yaml = k.cli(['run', 'services', 'describe', name, '--format', 'yaml']);
    expect(yaml.stdout).toContain('apiVersion: serving.knative.dev/v1');
    expect(yaml.stdout).toContain(`name: ${name}`);
    const json = JSON.parse(k.cli(['run', 'services', 'list', '--format', 'json']).stdout) as Service[];
    expect(json.map((s) => s.metadata.name)).toContain(name);
    const revs = k.cli(['run', 'revisions', 'list', '--service', name]);
    expect(revs.stdout).toMatch(/REVISION\s+ACTIVE\s+SERVICE/);
    const rev = (JSON.parse(k.cli(['run', 'revisions', 'list', '--service', name, '--format', 'json']).stdout) as Revision[])[0];
    const d = k.cli(['run', 'revisions', 'describe', rev?.metadata.name ?? '']);
    expect(d.stdout).toContain(`of service ${name}`);
    expect(k.cli(['config', 'get', 'project']).stdout.trim()).toBe('kumo-project');
  });

  it('refuses bad input naming the field, the range and the fix', () => {
    const cases: [string[], RegExp][] = [
      [['run', 'deploy', 'Bad_Name', '--source', '.'], /not a valid service name: use lowercase letters, digits and hyphens/],
      [['run', 'deploy', 'a'.repeat(50), '--source', '.'], /at most 49/],
      [['run', 'deploy', 'x1', '--concurrency', '0', '--source', '.'], /--concurrency must be a whole number from 1 to 1000; got "0"/],
      [['run', 'deploy', 'x1', '--timeout', '3601', '--source', '.'], /--timeout must be from 1 to 3600/],
      [['run', 'deploy', 'x1', '--max-instances', '1001', '--source', '.'], /--max-instances must be a whole number from 1 to 1000/],
      [['run', 'deploy', 'x1', '--min-instances', '5', '--max-instances', '2', '--source', '.'], /--min-instances \(5\) must not exceed --max-instances \(2\)/],
      [['run', 'deploy', 'x1', '--sourc', '.'], /unknown flag --sourc; did you mean --source\?/],
      [['run', 'services', 'describe', 'nope-not-here'], /service "nope-not-here" not found; list services with `kumo run services list`/],
      [['run', 'deploy', 'x1', '--set-env-vars', 'PORT=1', '--source', join(import.meta.dirname, '..', '..', 'examples', 'hello')], /PORT is set by kumo/],
    ];
    for (const [args, re] of cases) {
      const r = k.cli(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
  });

  it('reports every problem of a bad memory and cpu at once', () => {
    const r = k.cli(['run', 'deploy', 'x2', '--source', join(import.meta.dirname, '..', '..', 'examples', 'hello'), '--memory', '64Mi', '--cpu', '9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('resources.limits.cpu: CPU (--cpu) must be from 0.08 to 8');
    expect(r.stderr).toContain('resources.limits.memory: memory (--memory) must be from 128Mi to 32Gi');
  });

  it('deletes a service and stops its instances', async () => {
    const name = uniqueName('gone');
    deployHello(k, name);
    expect((await call(k, `${name}.localhost`)).status).toBe(200);
    expect(k.cli(['run', 'services', 'delete', name]).code).toBe(0);
    const r = await call(k, `${name}.localhost`);
    expect(r.status).toBe(404);
    expect(r.body).toContain('kumo run services list');
  });
});
