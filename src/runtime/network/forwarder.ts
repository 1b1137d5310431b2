/**
 * Lets instances reach kumo's router and Google API port, which listen on loopback: a TCP relay
 * on the gateway address (kept on the host's `lo`) for each port, to `127.0.0.1:<same port>`.
 * When the target already listens on all addresses, the gateway reaches it directly and the
 * relay for that port is not needed.
 */
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export class GatewayForwarder {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly gateway: string,
    private readonly ports: number[],
    private readonly targetHost = '127.0.0.1',
  ) {}

  async start(): Promise<void> {
    for (const port of new Set(this.ports.filter((p) => p > 0))) {
      const server = createServer({ noDelay: true }, (inbound) => this.relay(inbound, port));
      const ok = await new Promise<boolean>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err)));
        server.listen(port, this.gateway, () => resolve(true));
      });
      if (ok) this.servers.push(server);
    }
  }

  private relay(inbound: Socket, port: number): void {
    const outbound = connect({ host: this.targetHost, port, noDelay: true });
    this.sockets.add(inbound).add(outbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
      this.sockets.delete(inbound);
      this.sockets.delete(outbound);
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
