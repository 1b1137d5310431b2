import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { call, deployHello, removeHome, startKumo, uniqueName } from '../helpers/kumo.js';

/** Running, not a zombie waiting for its (dead) parent's reaper. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('server lifecycle', () => {
  it('answers at the same URL with the same revisions after a restart', async () => {
    const k1 = await startKumo();
    const name = deployHello(k1, uniqueName('survive'));
    const before = await call(k1, `${name}.localhost`);
    const pid = (JSON.parse((await call(k1, `${name}.localhost`, '/env')).body) as { pid: number }).pid;
    expect(await k1.stop('SIGTERM')).toBe(0);
    // SIGTERM stopped every instance the server started
    expect(alive(pid)).toBe(false);
    const k2 = await startKumo(['--port', String(k1.port)], k1.home);
    try {
      const after = await call(k2, `${name}.localhost`);
      expect(after.status).toBe(200);
      expect(after.body).toBe(before.body);
      expect(k2.cli(['run', 'revisions', 'list', '--service', name]).stdout).toContain(`${name}-00001-`);
    } finally {
      await k2.stop();
      removeHome(k2);
    }
  });

  it('leaves no orphan holding a port after kill -9 of the server', async () => {
    const k1 = await startKumo();
    const name = deployHello(k1, uniqueName('orphan'), ['--min-instances', '1']);
    const pid = (JSON.parse((await call(k1, `${name}.localhost`, '/env')).body) as { pid: number }).pid;
    await k1.stop('SIGKILL');
    expect(alive(pid)).toBe(true); // the instance outlived its server
    const k2 = await startKumo(['--port', String(k1.port)], k1.home);
    try {
      expect(k2.output()).toMatch(/removed \d+ instance\(s\) left behind by an earlier server/);
      expect(alive(pid)).toBe(false);
      const stateDir = join(k1.home, 'run', 'process');
      // only the new server's own min instance remains recorded
      const left = existsSync(stateDir) ? readdirSync(stateDir) : [];
      expect(left.length).toBeLessThanOrEqual(1);
      expect((await call(k2, `${name}.localhost`)).status).toBe(200);
    } finally {
      await k2.stop();
      removeHome(k2);
    }
  });

  it('stops every instance on SIGINT too', async () => {
    const k = await startKumo();
    const name = deployHello(k, uniqueName('sigint'), ['--min-instances', '2']);
    const pids = new Set<number>();
    for (let i = 0; i < 6; i++) pids.add((JSON.parse((await call(k, `${name}.localhost`, '/env')).body) as { pid: number }).pid);
    expect(await k.stop('SIGINT')).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    removeHome(k);
  });
});
