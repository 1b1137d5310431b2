/** Small shared pieces: data loading, live refresh, status, sparkline, dialogs, tabs, errors. */
import { h } from 'preact';
import type { ComponentChildren, ComponentType, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../lib/api.js';
import { subscribe } from '../lib/events.js';
import type { KumoEvent } from '../lib/events.js';
import type { ReadyState } from '../lib/format.js';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/** Fetches on mount and when `deps` change; `reload` fetches again, keeping the old data meanwhile. */
export function useData<T>(fetcher: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: ApiError | undefined; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [n, setN] = useState(0);
  useEffect(() => {
    const ac = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    fetcher(ac.signal).then(
      (data) => !ac.signal.aborted && setState({ data, error: undefined, loading: false }),
      (err: unknown) => {
        if (ac.signal.aborted) return;
        const e = err instanceof ApiError ? err : new ApiError(0, 'INTERNAL', String(err));
        setState((s) => ({ data: s.data, error: e, loading: false }));
      },
    );
    return () => ac.abort();
  }, [...deps, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { ...state, reload };
}

/**
 * Calls `onEvent` for live events, at most once per `minGapMs` for each kind of event; events of
 * one kind that arrive meanwhile are merged (their service names joined), never dropped.
 */
export function useLive(onEvent: (e: KumoEvent) => void, minGapMs = 500): void {
  const ref = useRef(onEvent);
  ref.current = onEvent;
  useEffect(() => {
    const last = new Map<KumoEvent['type'], number>();
    const queued = new Map<KumoEvent['type'], KumoEvent>();
    const timers = new Map<KumoEvent['type'], number>();
    const deliver = (type: KumoEvent['type']) => {
      timers.delete(type);
      const e = queued.get(type);
      queued.delete(type);
      last.set(type, Date.now());
      if (e) ref.current(e);
    };
    const off = subscribe((e) => {
      const prev = queued.get(e.type);
      queued.set(e.type, prev && 'services' in prev && 'services' in e ? { ...e, services: [...new Set([...prev.services, ...e.services])] } : e);
      if (timers.has(e.type)) return;
      const wait = minGapMs - (Date.now() - (last.get(e.type) ?? 0));
      if (wait <= 0) deliver(e.type);
      else timers.set(e.type, window.setTimeout(() => deliver(e.type), wait));
    });
    return () => {
      off();
      for (const t of timers.values()) clearTimeout(t);
    };
  }, [minGapMs]);
}

/** Now, ticking every `everyMs` (for "3s ago"). */
export function useNow(everyMs = 5000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

const STATE_TEXT: Record<ReadyState, string> = { ready: 'Ready', failed: 'Failed', pending: 'Deploying' };
const STATE_ICON: Record<ReadyState, string> = { ready: '●', failed: '✕', pending: '◌' };

export function Status({ state, title }: { state: ReadyState; title?: string }): JSX.Element {
  return (
    <span class={`status status-${state}`} title={title}>
      <span aria-hidden="true">{STATE_ICON[state]}</span> {STATE_TEXT[state]}
    </span>
  );
}

/** A line of values as an inline SVG; `label` is what a screen reader hears. */
export function Sparkline({ values, label, width = 120, height = 28 }: { values: readonly number[]; label: string; width?: number; height?: number }): JSX.Element {
  const max = Math.max(1e-9, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`).join(' ');
  return (
    <svg class="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <polyline points={pts} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}

export function ErrorBox({ error, title = 'Something went wrong' }: { error: ApiError | Error | undefined; title?: string }): JSX.Element | null {
  if (!error) return null;
  const v = error instanceof ApiError ? error.violations : [];
  return (
    <div class="error" role="alert">
      <strong>{title}:</strong> {error.message}
      {v.length > 0 && (
        <ul>
          {v.map((x) => (
            <li key={x.field}>
              <code>{x.field}</code>: {x.description}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }): JSX.Element {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** A modal dialog (native `<dialog>`: focus kept inside, Escape closes). */
export function Dialog({ open, title, onClose, children }: { open: boolean; title: string; onClose: () => void; children: ComponentChildren }): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby="dialog-title" onClose={onClose} onCancel={onClose}>
      <h2 id="dialog-title">{title}</h2>
      {open && children}
    </dialog>
  );
}

/** Asks before a destructive action; shows the action's error if it fails. */
export function Confirm(props: { open: boolean; title: string; body: ComponentChildren; action: string; onCancel: () => void; onConfirm: () => Promise<void> }): JSX.Element {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await props.onConfirm();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={props.open} title={props.title} onClose={props.onCancel}>
      <div>{props.body}</div>
      <ErrorBox error={error} />
      <div class="actions">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="button" class="danger" disabled={busy} onClick={() => void run()}>
          {busy ? 'Working…' : props.action}
        </button>
      </div>
    </Dialog>
  );
}

export interface Tab {
  id: string;
  label: string;
}

/** Tabs as a tablist (arrow keys move between them); the panel is the caller's. */
export function Tabs({ tabs, current, onSelect, label }: { tabs: readonly Tab[]; current: string; onSelect: (id: string) => void; label: string }): JSX.Element {
  const keys = (e: KeyboardEvent, i: number) => {
    const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!d) return;
    e.preventDefault();
    const next = tabs[(i + d + tabs.length) % tabs.length];
    if (next) {
      onSelect(next.id);
      document.getElementById(`tab-${next.id}`)?.focus();
    }
  };
  return (
    <div role="tablist" aria-label={label} class="tabs">
      {tabs.map((t, i) => (
        <button
          type="button"
          role="tab"
          id={`tab-${t.id}`}
          key={t.id}
          aria-selected={t.id === current}
          aria-controls={`panel-${t.id}`}
          tabIndex={t.id === current ? 0 : -1}
          onClick={() => onSelect(t.id)}
          onKeyDown={(e) => keys(e, i)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

/** A component whose code loads when first shown (its own chunk), with a loading line meanwhile. */
export function lazyComponent<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | undefined;
  let pending: Promise<ComponentType<P>> | undefined;
  return function Lazy(props: P) {
    const [C, setC] = useState<ComponentType<P> | undefined>(() => loaded);
    const [error, setError] = useState<Error>();
    useEffect(() => {
      if (C) return;
      pending ??= load().then((c) => (loaded = c));
      pending.then(
        (c) => setC(() => c),
        (err: unknown) => setError(err as Error),
      );
    }, [C]);
    if (error) return <ErrorBox error={error} title="Could not load this page (reload to try again)" />;
    return C ? h(C, props) : <Loading what="the page" />;
  };
}
