/** Small readers of /proc and the socket table for the process runtime. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { InstanceStats } from '../runtime.js';

/** Field 22 of /proc/PID/stat: the process start time in clock ticks since boot. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); field 22 is fields[19]
    if (fields[0] === 'Z') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Parent, process group and session of a process (fields 4-6 of /proc/PID/stat). */
export function processRelations(pid: number): { ppid: number; pgrp: number; session: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), pgrp: Number(fields[2]), session: Number(fields[3]) };
  } catch {
    return undefined;
  }
}

const TICKS_PER_SEC = 100;
const PAGE_SIZE = 4096;

export function readProcStats(pid: number): InstanceStats | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { cpuUsageUsec: ((utime + stime) * 1_000_000) / TICKS_PER_SEC, memoryBytes: rssPages * PAGE_SIZE };
  } catch {
    return undefined;
  }
}

/** A port that was free on 127.0.0.1 a moment ago. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
