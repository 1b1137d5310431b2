/**
 * kumo's end of the instances' network: a listener on the gateway address (kept on the host's
 * `lo`) for the router's and the Google API port's port numbers, which hands every accepted
 * socket in-process to that server's connection handling. The socket keeps the instance's own
 * address as its peer, so kumo knows which instance is calling (nothing is relayed from
 * 127.0.0.1). When a server listens on all addresses it accepts these connections itself and
 * the listener for that port steps aside.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export interface GatewayPort {
  port: number;
  /** Takes an accepted connection (the front door's or the Google API port's `accept`). */
  accept(socket: Socket): void;
}

export class GatewayListeners {
  private readonly servers: Server[] = [];

  constructor(
    private readonly gateway: string,
    private readonly ports: readonly GatewayPort[],
  ) {}

  async start(): Promise<void> {
    const seen = new Set<number>();
    for (const target of this.ports) {
      const { port } = target;
      if (port <= 0 || seen.has(port)) continue;
      seen.add(port);
      const server = createServer({ noDelay: true }, (socket) => target.accept(socket));
      const ok = await new Promise<boolean>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err)));
        server.listen(port, this.gateway, () => resolve(true));
      });
      if (!ok) continue;
      // Accept errors (out of file descriptors) must not end the server; the instance retries.
      server.on('error', () => undefined);
      this.servers.push(server);
    }
  }

  /** Stops accepting; connections already handed over belong to their server, which closes them. */
  async close(): Promise<void> {
    await Promise.all(this.servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
