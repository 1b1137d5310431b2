/**
 * The deployment/startup probe: an instance is ready once a TCP connect to its port succeeds.
 * Polls every millisecond for the first second (cold starts are tens of milliseconds, and each
 * millisecond of polling delay is cold-start latency), then backs off to 25 ms.
 */
import { connect } from 'node:net';

function tryConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      s.destroy();
      resolve(false);
    });
  });
}

export interface ProbeOptions {
  host: string;
  port: number;
  timeoutMs: number;
  /** Stop probing early (the instance exited). */
  signal: AbortSignal;
}

/** Resolves true when the port accepts a connection, false on timeout or abort. */
export async function waitForListening(o: ProbeOptions): Promise<boolean> {
  const start = Date.now();
  const deadline = start + o.timeoutMs;
  while (!o.signal.aborted && Date.now() < deadline) {
    if (await tryConnect(o.host, o.port)) return true;
    const elapsed = Date.now() - start;
    const delayMs = elapsed < 1000 ? 1 : elapsed < 5000 ? 5 : 25;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  return false;
}
