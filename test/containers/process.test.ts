/**
 * A server without a container runtime (`--runtime process`) still holds images in its registry,
 * but an image deploy fails at once with what to install; a source deploy runs as a process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeHome, startKumo, waitFor } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';
import { pushNodeApp, skopeoSkipReason } from './harness.js';

const skip = skopeoSkipReason();
if (skip) console.log(`process runtime image tests skipped: ${skip}`);

describe.skipIf(Boolean(skip))('image deploys on the process runtime', () => {
  let k: KumoServer;
  beforeAll(async () => {
    k = await startKumo([], undefined, { runtime: 'process' });
  });
  afterAll(async () => {
    if (!k) return;
    await k.stop();
    removeHome(k);
  });

  it('fail with a message that says what to install, and store nothing that serves', async () => {
    await waitFor('the runtime line', () => k.output(), (o) => o.includes('kumo: runtime '), 5000);
    expect(k.output()).toContain('runtime process');
    const { ref } = await pushNodeApp(k, 'plain/app:v1');
    const r = k.cli(['run', 'deploy', 'boxed', '--image', ref, '--allow-unauthenticated']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('cannot run images: install runc (apt-get install runc) and run kumo as root, or start dockerd, then restart kumo server');
    const list = k.cli(['run', 'services', 'describe', 'boxed', '--format', 'json']);
    if (list.code === 0) {
      const s = JSON.parse(list.stdout) as { status: { latestReadyRevisionName?: string } };
      expect(s.status.latestReadyRevisionName).toBeUndefined();
    }
  });
});
