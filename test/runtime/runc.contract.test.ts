import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuncRuntime } from '../../src/runtime/runc/index.js';
import { runtimeContract } from '../../src/runtime/runtime.contract.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { nodeAppImage, sharedLayout } from './fixtures/images.js';
import { freeTestCidr, runcSkipReason } from './fixtures/runc.js';

const root = mkdtempSync(join(tmpdir(), 'kumo-runc-contract-'));
const layout = sharedLayout();
const skip = await runcSkipReason();

runtimeContract({
  name: 'runc',
  skip,
  async create() {
    const home = mkdtempSync(join(root, 'home-'));
    const cidr = freeTestCidr();
    const make = () =>
      new RuncRuntime({
        stateDir: join(home, 'run'),
        layersDir: join(home, 'layers'),
        imageSource: layout,
        network: { cidr, routerPort: 0, apiPort: 0, hosts: () => [] },
        project: 'contract',
      });
    const runtime = make();
    const opened: Runtime[] = [runtime];
    return {
      runtime,
      reopen: async () => {
        const r = make();
        opened.push(r);
        return r;
      },
      cleanup: async () => {
        for (const i of await runtime.list()) await runtime.remove(i.instanceId);
        for (const r of opened) await r.close();
      },
    };
  },
  async workload(programJs) {
    return { kind: 'image', image: await nodeAppImage(layout, programJs) };
  },
});

afterAll(() => rmSync(root, { recursive: true, force: true }));
