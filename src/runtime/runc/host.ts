/** Host-side helpers for the runc runtime: mounts, exit statuses, pids, the image's user database. */
import { constants } from 'node:os';
import { readFileSync } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveInRoot } from '../image/paths.js';
import { run } from '../network/exec.js';

/** Mount points at or under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    // mountinfo escapes spaces and the like as octal
    const path = mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (path === dir || path.startsWith(`${dir}/`)) out.push(path);
  }
  return out.sort((a, b) => b.length - a.length);
}

export async function unmountAll(dir: string): Promise<boolean> {
  for (const mp of mountsUnder(dir)) {
    await run('umount', [mp]).catch(() => run('umount', ['-l', mp]).catch(() => undefined));
  }
  return mountsUnder(dir).length === 0;
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/** runc reports a container killed by signal N as exit status 128+N, as shells do. */
export function exitStatus(code: number | null, signal: string | null): { code: number | null; signal: string | null } {
  if (signal) return { code: null, signal };
  if (code !== null && code > 128 && SIGNAL_NAMES.has(code - 128)) return { code: null, signal: SIGNAL_NAMES.get(code - 128) ?? null };
  return { code, signal: null };
}

export function formatLimit(bytes: number): string {
  const mib = bytes / 1024 ** 2;
  if (mib >= 1024 && Number.isInteger(mib / 1024)) return `${mib / 1024} GiB`;
  return Number.isInteger(mib) ? `${mib} MiB` : `${bytes} bytes`;
}

/** Whether `pid` is alive and in the cgroup named `marker` (so a recycled pid is never taken for it). */
export function pidInCgroup(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(marker);
  } catch {
    return false;
  }
}

export function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * /etc/passwd and /etc/group from the topmost layer that has them. Paths are resolved inside each
 * layer (a layer's `etc -> /etc` must not read the host's), and only regular files are read.
 */
export async function userDatabase(layerDirs: string[]): Promise<{ passwd?: string; group?: string }> {
  const read = async (name: string): Promise<string | undefined> => {
    for (const dir of [...layerDirs].reverse()) {
      try {
        const p = join(await resolveInRoot(dir, ['etc'], false), name);
        const st = await lstat(p);
        return st.isFile() && st.size < 4 * 1024 * 1024 ? await readFile(p, 'utf8') : undefined;
      } catch {
        // not in this layer
      }
    }
    return undefined;
  };
  return { passwd: await read('passwd'), group: await read('group') };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The hard open-file limit of this process, from /proc/self/limits. */
export function openFilesLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const hard = Number(line?.split(/\s+/)[4]);
    return Number.isInteger(hard) && hard > 0 ? Math.min(hard, 1048576) : 1024;
  } catch {
    return 1024;
  }
}
