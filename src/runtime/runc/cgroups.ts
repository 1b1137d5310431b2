/**
 * kumo's own cgroup for each runc instance, on the machine's v1 hierarchies: `kumo-<tag>/<id>`
 * holds the limits (memory, CPU quota), the freezer and the accounting; runc's container cgroup
 * is the child `c`. Because runc removes its own cgroup the moment the container exits, the
 * parent is what keeps the memory fail count (how an OOM kill is told apart) and the CPU total
 * until kumo has read them.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { KumoError } from '../../shared/errors.js';
import type { InstanceStats } from '../runtime.js';

const MANAGED = ['memory', 'cpu', 'cpuacct', 'freezer', 'pids'] as const;
const CFS_PERIOD_US = 100_000;

export interface CgroupLimits {
  memoryBytes: number;
  cpuMillis: number;
  maxPids?: number;
}

export class Cgroups {
  constructor(
    private readonly tag: string,
    private readonly root = '/sys/fs/cgroup',
  ) {}

  /** The path runc is given (`linux.cgroupsPath`). */
  containerPath(id: string): string {
    return `/kumo-${this.tag}/${id}/c`;
  }

  dir(controller: string, id: string): string {
    return join(this.root, controller, `kumo-${this.tag}`, id);
  }

  /** Whether cgroup v1 controllers kumo needs are mounted and writable. */
  usable(): string | undefined {
    for (const c of MANAGED) {
      if (!existsSync(join(this.root, c, 'cgroup.procs'))) return `the cgroup v1 "${c}" controller is not mounted at ${join(this.root, c)}`;
    }
    return undefined;
  }

  create(id: string, limits: CgroupLimits): void {
    for (const c of MANAGED) mkdirSync(this.dir(c, id), { recursive: true });
    const write = (c: string, file: string, value: string | number) => {
      try {
        writeFileSync(join(this.dir(c, id), file), String(value));
      } catch (err) {
        throw new KumoError('INTERNAL', `could not set ${c}/${file}=${value} for instance ${id}: ${(err as Error).message}`, { instance: id });
      }
    };
    write('memory', 'memory.limit_in_bytes', limits.memoryBytes);
    write('cpu', 'cpu.cfs_period_us', CFS_PERIOD_US);
    write('cpu', 'cpu.cfs_quota_us', Math.max(1000, Math.round((limits.cpuMillis * CFS_PERIOD_US) / 1000)));
    write('cpu', 'cpu.shares', Math.max(2, Math.round((limits.cpuMillis * 1024) / 1000)));
    write('pids', 'pids.max', limits.maxPids ?? 4096);
  }

  /** An open descriptor on freezer.state, so a thaw on the request path is a single write. */
  openFreezer(id: string): number {
    return openSync(join(this.dir('freezer', id), 'freezer.state'), 'w');
  }

  static writeState(fd: number, state: 'FROZEN' | 'THAWED'): void {
    writeSync(fd, state, 0);
  }

  static closeFd(fd: number): void {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }

  thaw(id: string): void {
    try {
      writeFileSync(join(this.dir('freezer', id), 'freezer.state'), 'THAWED');
    } catch {
      // gone
    }
  }

  stats(id: string): InstanceStats | undefined {
    try {
      const ns = Number(readFileSync(join(this.dir('cpuacct', id), 'cpuacct.usage'), 'utf8'));
      const mem = Number(readFileSync(join(this.dir('memory', id), 'memory.usage_in_bytes'), 'utf8'));
      return { cpuUsageUsec: Math.round(ns / 1000), memoryBytes: mem };
    } catch {
      return undefined;
    }
  }

  /** Times the memory limit was hit; with a SIGKILL kumo did not send, the instance was OOM-killed. */
  memoryFailures(id: string): number {
    try {
      return Number(readFileSync(join(this.dir('memory', id), 'memory.failcnt'), 'utf8'));
    } catch {
      return 0;
    }
  }

  /** Every process in the instance's cgroup tree. */
  pids(id: string): number[] {
    const out: number[] = [];
    const walk = (dir: string) => {
      if (!existsSync(dir)) return;
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) out.push(Number(line));
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
    };
    try {
      walk(this.dir('pids', id));
    } catch {
      // raced with removal
    }
    return out;
  }

  /** Instance ids that have a cgroup under this kumo home. */
  list(): string[] {
    const dir = join(this.root, 'pids', `kumo-${this.tag}`);
    return existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : [];
  }

  /** Remove this kumo home's (empty) parent cgroups. */
  removeRoot(): void {
    for (const h of readdirSync(this.root)) {
      const d = join(this.root, h, `kumo-${this.tag}`);
      try {
        if (existsSync(d)) rmdirSync(d);
      } catch {
        // still holds instances
      }
    }
  }

  /** Remove the instance's cgroups in every hierarchy (runc creates its parents in all of them). */
  remove(id: string): boolean {
    let clean = true;
    for (const h of readdirSync(this.root)) {
      const base = join(this.root, h, `kumo-${this.tag}`, id);
      for (const d of [join(base, 'c'), base]) {
        if (!existsSync(d)) continue;
        try {
          rmdirSync(d);
        } catch {
          clean = false;
        }
      }
    }
    return clean;
  }
}
