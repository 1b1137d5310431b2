/**
 * One EventSource on `/api/events` for the whole page; views subscribe to what they show and
 * fetch again when told (see src/api/events.routes.ts for the events).
 */
/** `open`: the stream connected again after a break (views fetch again: they may have missed events). */
export type KumoEvent = { type: 'changed' | 'instances'; services: string[] } | { type: 'tick'; tMs: number } | { type: 'open' };
type Listener = (e: KumoEvent) => void;

const listeners = new Set<Listener>();
let source: EventSource | undefined;

function open(): void {
  source = new EventSource('/api/events');
  let opened = false;
  source.addEventListener('open', () => {
    if (opened) emit({ type: 'open' });
    opened = true;
  });
  for (const type of ['changed', 'instances'] as const) {
    source.addEventListener(type, (m: MessageEvent<string>) => emit({ type, services: (JSON.parse(m.data) as { services: string[] }).services }));
  }
  source.addEventListener('tick', (m: MessageEvent<string>) => emit({ type: 'tick', tMs: (JSON.parse(m.data) as { tMs: number }).tMs }));
}

function emit(e: KumoEvent): void {
  for (const l of listeners) l(e);
}

export function subscribe(l: Listener): () => void {
  listeners.add(l);
  if (!source) open();
  return () => {
    listeners.delete(l);
    if (listeners.size === 0) {
      source?.close();
      source = undefined;
    }
  };
}
