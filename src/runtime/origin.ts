/**
 * The origin of a connection to kumo (see `shared/origin.ts`), found once per socket from what the
 * runtimes know: an address one of their instances holds (runc's own networks, where the kernel and
 * an nftables rule per veth vouch for the source address), else, for a loopback peer while
 * instances run on the host's network, the processes that own the peer socket. Anything kumo cannot
 * attribute is `remote`: it never gets what a host process gets.
 */
import type { Socket } from 'node:net';
import type { ConnectionEnds, InstanceIdentity, Origin, Origins } from '../shared/origin.js';
import { isLoopbackAddress, plainAddress } from '../shared/origin.js';
import { peerProcesses } from './process/peer-socket.js';
import type { Runtime } from './runtime.js';

type OriginSource = Pick<Runtime, 'instanceAt' | 'hasHostNetworkInstances' | 'instanceOfProcess'>;

export interface OriginResolverOptions {
  /** Holders of the peer socket of a loopback connection (default: from /proc). */
  peerProcesses?: (ends: ConnectionEnds) => Promise<number[] | undefined>;
}

export class OriginResolver implements Origins {
  private readonly sources: OriginSource[] = [];
  private readonly bySocket = new WeakMap<Socket, Promise<Origin>>();

  constructor(private readonly o: OriginResolverOptions = {}) {}

  /** Runtimes join as they are built (container runtimes after the ports listen). */
  add(source: OriginSource): void {
    if (!this.sources.includes(source)) this.sources.push(source);
  }

  of(socket: Socket): Promise<Origin> {
    let p = this.bySocket.get(socket);
    if (!p) {
      p = this.resolve({ localAddress: socket.localAddress, localPort: socket.localPort, remoteAddress: socket.remoteAddress, remotePort: socket.remotePort });
      this.bySocket.set(socket, p);
    }
    return p;
  }

  async resolve(ends: ConnectionEnds): Promise<Origin> {
    const address = plainAddress(ends.remoteAddress);
    for (const s of this.sources) {
      const id = s.instanceAt?.(address);
      if (id) return instance(address, id);
    }
    if (!isLoopbackAddress(address)) return { kind: 'remote', address };
    if (!this.sources.some((s) => s.hasHostNetworkInstances?.())) return { kind: 'host', address };
    const pids = await (this.o.peerProcesses ?? peerProcesses)(ends);
    // The peer socket is gone, or held by processes kumo may not look at: not known, so not trusted.
    if (!pids) return { kind: 'remote', address };
    for (const pid of pids) {
      for (const s of this.sources) {
        const id = s.instanceOfProcess?.(pid);
        if (id) return instance(address, id);
      }
    }
    return { kind: 'host', address };
  }
}

function instance(address: string, id: InstanceIdentity): Origin {
  return { kind: 'instance', address, runtime: id.runtime, instanceId: id.instanceId, service: id.service, revision: id.revision };
}
