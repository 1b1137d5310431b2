/** The runtimes the cold-start bench drives, each set up the way a kumo server would. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DockerRuntime } from '../src/runtime/docker/index.js';
import { ProcessRuntime } from '../src/runtime/process/index.js';
import { RuncRuntime } from '../src/runtime/runc/index.js';
import type { InstanceSpec, Runtime } from '../src/runtime/runtime.js';
import { startDocker } from '../test/runtime/fixtures/docker.js';
import { nodeAppImage, sharedLayout } from '../test/runtime/fixtures/images.js';
import { freeTestCidr } from '../test/runtime/fixtures/runc.js';

export interface BenchSetup {
  runtime: Runtime;
  spec: () => InstanceSpec;
  /** Processes kumo keeps per instance (beyond the app's), and the app's own. */
  overheadPids(ids: string[]): Promise<{ pids: number[]; appPids: number[]; what: string } | undefined> | { pids: number[]; appPids: number[]; what: string } | undefined;
  /** Processes of containers held ready at their start gate (kumo's cost per revision that has run). */
  warmPids?(): number[][];
  /** Resolves when the runtime does no background work. */
  settled?(): Promise<void>;
  close(): Promise<void>;
}

let seq = 0;
function baseSpec(workload: InstanceSpec['workload']): InstanceSpec {
  seq++;
  return {
    instanceId: `bench-${process.pid}-${seq}`,
    service: 'hello',
    revision: 'hello-00001-abc',
    configuration: 'hello',
    workload,
    env: { K_SERVICE: 'hello', K_REVISION: 'hello-00001-abc', K_CONFIGURATION: 'hello' },
    containerPort: 8080,
    cpuMillis: 1000,
    memoryBytes: 512 * 1024 * 1024,
    startupTimeoutMs: 10_000,
    network: 'isolated',
  };
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const c of childrenOf(pid)) out.push(c, ...descendants(c));
  return out;
}

interface Rec {
  containerId: string;
  instanceId?: string;
  wrapperPid: number;
}

function records(stateDir: string): Rec[] {
  const dir = join(stateDir, 'bundles');
  return readdirSync(dir).flatMap((id) => {
    try {
      return [JSON.parse(readFileSync(join(dir, id, 'instance.json'), 'utf8')) as Rec];
    } catch {
      return [];
    }
  });
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

export async function makeRuntime(kind: 'runc' | 'docker' | 'process', work: string, program: string): Promise<BenchSetup> {
  if (kind === 'process') {
    const runtime = new ProcessRuntime({ stateDir: join(work, 'process-state') });
    return {
      runtime,
      spec: () => ({ ...baseSpec({ kind: 'source', dir: work }), command: [process.execPath, 'hello.js'] }),
      overheadPids: () => undefined,
      close: () => runtime.close(),
    };
  }
  if (kind === 'runc') {
    const home = mkdtempSync(join(tmpdir(), 'kumo-bench-runc-'));
    const layout = sharedLayout();
    const image = await nodeAppImage(layout, program);
    const stateDir = join(home, 'run');
    const runtime = new RuncRuntime({
      stateDir,
      layersDir: join(home, 'layers'),
      imageSource: layout,
      network: { cidr: freeTestCidr(), routerPort: 0, apiPort: 0, hosts: () => [], poolSize: 4 },
      warm: { perShape: process.argv.includes('--no-warm') ? 0 : 1 },
      project: 'bench',
    });
    await runtime.prepareImage(image);
    return {
      runtime,
      spec: () => baseSpec({ kind: 'image', image }),
      overheadPids(ids) {
        const pids: number[] = [];
        const appPids: number[] = [];
        for (const rec of records(stateDir).filter((r) => r.instanceId && ids.includes(r.instanceId))) {
          const app = Number(readFileSync(join(stateDir, 'bundles', rec.containerId, 'pid'), 'utf8'));
          appPids.push(app);
          pids.push(rec.wrapperPid, ...descendants(rec.wrapperPid).filter((p) => p !== app && !descendants(app).includes(p)));
        }
        return { pids, appPids, what: 'the shell wrapper and the foreground runc' };
      },
      settled: () => runtime.settled(),
      warmPids() {
        return records(stateDir)
          .filter((r) => !r.instanceId)
          .map((r) => [r.wrapperPid, ...descendants(r.wrapperPid)]);
      },
      async close() {
        for (const i of await runtime.list()) await runtime.remove(i.instanceId);
        await runtime.close();
        rmSync(home, { recursive: true, force: true });
      },
    };
  }
  const docker = await startDocker();
  const layout = sharedLayout();
  const image = await docker.push(layout, await nodeAppImage(layout, program));
  const runtime = new DockerRuntime({ socketPath: docker.socket, registry: docker.registry, home: work, network: { routerPort: 0, apiPort: 0, hosts: () => [] }, project: 'bench' });
  await runtime.prepareImage(image);
  return {
    runtime,
    spec: () => baseSpec({ kind: 'image', image }),
    async overheadPids(ids) {
      const engine = new Docker({ socketPath: docker.socket });
      const apps: number[] = [];
      for (const id of ids) {
        for (const c of await engine.listContainers({ filters: { label: [`dev.kumo.instance=${id}`] } })) apps.push((await engine.getContainer(c.Id).inspect()).State.Pid);
      }
      const shims = apps.map((p) => parentOf(p)).filter((p): p is number => p !== undefined);
      return { pids: shims, appPids: apps, what: "containerd's shim per container (dockerd and containerd themselves not counted)" };
    },
    async close() {
      for (const i of await runtime.list()) await runtime.remove(i.instanceId);
      await docker.stop();
    },
  };
}
