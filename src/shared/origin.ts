/**
 * Who is at the other end of a connection, as kumo knows it from the connection itself — never
 * from a header, and never from "the source address is 127.0.0.1": kumo's instances share
 * loopback with the host on some runtimes.
 *
 * - `host`: a process on this machine's loopback that is none of kumo's instances (the user's
 *   shell, gcloud, the CLI). Only these get `--api-open`'s token-less access.
 * - `instance`: one of kumo's instances: by the address kumo gave it (runc's own network), or by
 *   the process that owns the peer socket (instances on the host's network).
 * - `remote`: anything else, including a loopback peer kumo could not attribute (fail closed).
 */
import type { Socket } from 'node:net';

/** Which instance (runtime, revision, instance id). */
export interface InstanceIdentity {
  runtime: 'process' | 'runc' | 'docker';
  instanceId: string;
  service: string;
  revision: string;
}

export type Origin =
  | { kind: 'host'; address: string }
  | ({ kind: 'instance'; address: string } & InstanceIdentity)
  | { kind: 'remote'; address: string };

/** Both ends of a TCP connection, as Node reports them (`::ffff:` prefixes allowed). */
export interface ConnectionEnds {
  localAddress?: string | undefined;
  localPort?: number | undefined;
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
}

/** Finds the origin of a connection, once per socket. */
export interface Origins {
  of(socket: Socket): Promise<Origin>;
}

/** An IPv4 address as itself (without Node's `::ffff:` for dual-stack sockets). */
export function plainAddress(address: string | undefined): string {
  const a = address ?? '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

export function isLoopbackAddress(address: string | undefined): boolean {
  const a = plainAddress(address);
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** A short phrase for messages: `instance hello-00001-abc-x1y2z (revision hello-00001-abc)`. */
export function describeOrigin(o: Origin): string {
  if (o.kind === 'instance') return `instance ${o.instanceId} of revision ${o.revision} (${o.runtime}, ${o.address})`;
  if (o.kind === 'host') return `a process on this machine (${o.address})`;
  return o.address ? `a peer at ${o.address}` : 'an unknown peer';
}

/**
 * For servers built without kumo's runtimes (tests, tools): with no instances anywhere, a
 * loopback peer is a host process and anything else is remote.
 */
export const WITHOUT_INSTANCES: Origins = {
  of: async (socket) => {
    const address = plainAddress(socket.remoteAddress);
    return isLoopbackAddress(address) ? { kind: 'host', address } : { kind: 'remote', address };
  },
};

/** `local:port>remote:port`, the key of a live TCP connection. */
export function connectionKey(e: ConnectionEnds): string {
  return `${plainAddress(e.localAddress)}:${e.localPort ?? 0}>${plainAddress(e.remoteAddress)}:${e.remotePort ?? 0}`;
}
