/**
 * Which processes hold the other end of a loopback TCP connection: the peer socket's inode from
 * /proc/net/tcp{,6} (the entry whose local end is our remote end and the other way round), then
 * the processes with that inode among their file descriptors. Linux only; callers treat "not
 * found" as "not known", never as "trusted".
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import type { ConnectionEnds } from '../../shared/origin.js';
import { plainAddress } from '../../shared/origin.js';

/**
 * An address as /proc/net/tcp (`127.0.0.1` → `0100007F`) or tcp6 writes it (32 hex digits, each
 * 32-bit word in host order; IPv4 as `::ffff:a.b.c.d` on IPv6 sockets). Loopback only. Pure.
 */
export function procAddress(address: string, table: 'tcp' | 'tcp6'): string | undefined {
  const a = plainAddress(address);
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (v4) {
    const word = v4.slice(1, 5).reverse().map((x) => Number(x).toString(16).padStart(2, '0')).join('').toUpperCase();
    return table === 'tcp' ? word : `0000000000000000FFFF0000${word}`;
  }
  if (a === '::1' && table === 'tcp6') return '00000000000000000000000001000000';
  return undefined;
}

function endpoint(address: string, port: number, table: 'tcp' | 'tcp6'): string | undefined {
  const a = procAddress(address, table);
  return a === undefined ? undefined : `${a}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * The inode of the socket whose local end is `local` and remote end `remote`, from the text of
 * /proc/net/tcp or tcp6. Pure.
 */
export function socketInode(table: string, local: string, remote: string): number | undefined {
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    if (f[1] === local && f[2] === remote) {
      const inode = Number(f[9]);
      return Number.isInteger(inode) && inode > 0 ? inode : undefined;
    }
  }
  return undefined;
}

/** Pids of the processes holding the peer socket of this accepted connection; undefined when it cannot be found. */
export async function peerProcesses(ends: ConnectionEnds): Promise<number[] | undefined> {
  const { localAddress, localPort, remoteAddress, remotePort } = ends;
  if (!localAddress || !remoteAddress || !localPort || !remotePort) return undefined;
  let inode: number | undefined;
  for (const table of ['tcp', 'tcp6'] as const) {
    // The peer's socket sees our remote end as its local end.
    const theirs = endpoint(remoteAddress, remotePort, table);
    const ours = endpoint(localAddress, localPort, table);
    if (!theirs || !ours) continue;
    inode = socketInode(await readFile(`/proc/net/${table}`, 'utf8').catch(() => ''), theirs, ours);
    if (inode !== undefined) break;
  }
  if (inode === undefined) return undefined;
  const target = `socket:[${inode}]`;
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p));
  const holds = async (pid: string): Promise<boolean> => {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
    return links.includes(target);
  };
  const owners: number[] = [];
  // Every holder, not the first: a socket shared by a host process and an instance is the instance's.
  for (let i = 0; i < pids.length; i += 32) {
    const batch = pids.slice(i, i + 32);
    const held = await Promise.all(batch.map(holds));
    batch.forEach((pid, j) => held[j] && owners.push(Number(pid)));
  }
  return owners.length > 0 ? owners : undefined;
}
