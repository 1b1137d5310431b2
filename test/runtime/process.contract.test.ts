import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessRuntime } from '../../src/runtime/process/index.js';
import { runtimeContract } from '../../src/runtime/runtime.contract.js';

const root = mkdtempSync(join(tmpdir(), 'kumo-process-contract-'));

runtimeContract({
  name: 'process',
  async create() {
    const stateDir = mkdtempSync(join(root, 'state-'));
    const runtime = new ProcessRuntime({ stateDir });
    return {
      runtime,
      reopen: async () => new ProcessRuntime({ stateDir }),
      cleanup: async () => {
        for (const i of await runtime.list()) await runtime.remove(i.instanceId);
      },
    };
  },
  async workload(programJs) {
    const dir = mkdtempSync(join(root, 'app-'));
    writeFileSync(join(dir, 'server.js'), programJs);
    return { kind: 'source', dir };
  },
});

process.on('exit', () => rmSync(root, { recursive: true, force: true }));
