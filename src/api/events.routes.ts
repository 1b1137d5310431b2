/**
 * `GET /api/events`: a server-sent event stream that tells a live view what to fetch again.
 * - `changed` `{"services":[…]}`: services, revisions, policies or operations were written;
 * - `instances` `{"services":[…]}`: an instance started, became ready or stopped;
 * - `tick` `{"tMs":…}`: new metric points are stored (every `--metrics-step`).
 * Names are batched for 100 ms so a deploy's burst of writes is one event.
 */
import type { Routes } from './http.js';

export type ChangeKind = 'changed' | 'instances';

export interface EventRouteOptions {
  /** Subscribes to writes of serving state; returns the unsubscribe. */
  onServingWrite(listener: (service: string) => void): () => void;
  /** Subscribes to metric rolls and instance changes; returns the unsubscribe. */
  onTelemetry(listener: (e: { kind: 'roll'; tMs: number } | { kind: 'instances'; service: string }) => void): () => void;
}

const BATCH_MS = 100;
const PING_MS = 15_000;

export function addEventRoutes(routes: Routes, o: EventRouteOptions): void {
  routes.add('GET', '/api/events', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n: kumo events\n\n');
    const pending: Record<ChangeKind, Set<string>> = { changed: new Set(), instances: new Set() };
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      for (const kind of ['changed', 'instances'] as const) {
        if (pending[kind].size === 0) continue;
        res.write(`event: ${kind}\ndata: ${JSON.stringify({ services: [...pending[kind]].sort() })}\n\n`);
        pending[kind].clear();
      }
    };
    const note = (kind: ChangeKind, service: string) => {
      pending[kind].add(service);
      timer ??= setTimeout(flush, BATCH_MS);
    };
    const offWrites = o.onServingWrite((service) => note('changed', service));
    const offTelemetry = o.onTelemetry((e) => {
      if (e.kind === 'instances') note('instances', e.service);
      else res.write(`event: tick\ndata: ${JSON.stringify({ tMs: e.tMs })}\n\n`);
    });
    const ping = setInterval(() => res.write(': ping\n\n'), PING_MS);
    req.on('close', () => {
      offWrites();
      offTelemetry();
      clearInterval(ping);
      if (timer) clearTimeout(timer);
    });
  });
}
