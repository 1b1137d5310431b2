/**
 * A service's logs: severity filter, text search, a time window (from a chart click), request
 * entries grouped with the app lines of their trace, live tail. Rows are windowed, so 10,000
 * lines scroll as smoothly as 10.
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { LogEntry, Severity } from '../../../observability/log.types.js';
import { ErrorBox, useData } from '../components/ui.js';
import { enc, get } from '../lib/api.js';
import { clock, dateTime } from '../lib/format.js';
import { lineText, logRows, visibleRange } from '../lib/logs.js';
import type { Loc } from '../lib/router.js';
import { navigate, withQuery } from '../lib/router.js';

const SEVERITIES: Severity[] = ['DEFAULT', 'DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR', 'CRITICAL'];
const ROW_PX = 22;
/** Newest entries loaded, and kept while tailing. */
const LIMIT = 10_000;

function query(loc: Loc): string {
  const q = new URLSearchParams({ limit: String(LIMIT) });
  for (const k of ['severity', 'text', 'since', 'until'] as const) {
    const v = loc.query.get(k);
    if (v) q.set(k, v);
  }
  return q.toString();
}

function Row({ entry, depth, top, selected, onSelect }: { entry: LogEntry; depth: 0 | 1; top: number; selected: boolean; onSelect: () => void }): JSX.Element {
  return (
    <button type="button" class={`logrow depth${depth}`} style={{ top: `${top}px` }} aria-pressed={selected} onClick={onSelect} data-kind={entry.kind}>
      <span class="muted">{clock(entry.timeMs)}</span> <span class={`sev sev-${entry.severity}`}>{entry.severity}</span>
      <span class="kind">{entry.kind}</span> {lineText(entry)}
    </button>
  );
}

export function Logs({ name, loc }: { name: string; loc: Loc }): JSX.Element {
  const q = query(loc);
  const loaded = useData((signal) => get<{ entries: LogEntry[] }>(`/api/services/${enc(name)}/logs?${q}`, signal), [name, q]);
  const [tailed, setTailed] = useState<LogEntry[]>([]);
  const [live, setLive] = useState(false);
  const [group, setGroup] = useState(true);
  const [selected, setSelected] = useState<LogEntry>();
  const [text, setText] = useState(loc.query.get('text') ?? '');
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 440 });
  const windowed = Boolean(loc.query.get('until'));

  useEffect(() => setTailed([]), [q]);
  // Live tail: the server filters by severity and text as it does for the query.
  useEffect(() => {
    if (!live || windowed) return;
    const p = new URLSearchParams();
    for (const k of ['severity', 'text'] as const) {
      const v = loc.query.get(k);
      if (v) p.set(k, v);
    }
    const src = new EventSource(`/api/services/${enc(name)}/logs/tail?${p.toString()}`);
    let batch: LogEntry[] = [];
    let timer: number | undefined;
    src.onmessage = (m: MessageEvent<string>) => {
      batch.push(JSON.parse(m.data) as LogEntry);
      timer ??= window.setTimeout(() => {
        timer = undefined;
        const add = batch;
        batch = [];
        setTailed((t) => [...t, ...add].slice(-LIMIT));
      }, 100);
    };
    return () => {
      src.close();
      if (timer) clearTimeout(timer);
    };
  }, [live, windowed, name, q]);
  // Search as you type, a moment after the last key.
  useEffect(() => {
    if (text === (loc.query.get('text') ?? '')) return;
    const t = setTimeout(() => navigate(withQuery(loc, { text }), true), 300);
    return () => clearTimeout(t);
  }, [text]);

  const entries = useMemo(() => {
    const base = loaded.data?.entries ?? [];
    const last = base[base.length - 1]?.id ?? -1;
    const seen = new Set(base.map((e) => e.insertId));
    const fresh = tailed.filter((e) => (e.id === undefined || e.id > last) && !seen.has(e.insertId));
    return [...base, ...fresh].slice(-LIMIT);
  }, [loaded.data, tailed]);
  const rows = useMemo(() => logRows(entries, group), [entries, group]);
  const { first, last } = visibleRange(view.top, view.height, ROW_PX, rows.length);

  // Follow the end while tailing, unless the reader scrolled up.
  const atEnd = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (el && atEnd.current) el.scrollTop = el.scrollHeight;
  }, [rows.length]);
  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    atEnd.current = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_PX;
    setView({ top: el.scrollTop, height: el.clientHeight });
  };
  useEffect(onScroll, []);

  const since = loc.query.get('since');
  const until = loc.query.get('until');
  return (
    <>
      <div class="toolbar">
        <label>
          Severity at least{' '}
          <select value={loc.query.get('severity') ?? 'DEFAULT'} onChange={(e) => navigate(withQuery(loc, { severity: e.currentTarget.value === 'DEFAULT' ? undefined : e.currentTarget.value }), true)}>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search <input type="search" value={text} placeholder="text in the entry" onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <label>
          <input type="checkbox" checked={group} onChange={(e) => setGroup(e.currentTarget.checked)} /> Group by request
        </label>
        <label>
          <input type="checkbox" checked={live && !windowed} disabled={windowed} onChange={(e) => setLive(e.currentTarget.checked)} /> Live tail
        </label>
        {(since ?? until) && (
          <span class="notice">
            {since ? dateTime(Date.parse(since)) : '…'} to {until ? dateTime(Date.parse(until)) : 'now'}{' '}
            <button type="button" onClick={() => navigate(withQuery(loc, { since: undefined, until: undefined }), true)}>
              Show all times
            </button>
          </span>
        )}
        <span class="muted" role="status" data-testid="log-count">
          {loaded.loading && !loaded.data ? 'Loading…' : `${rows.length} entries`}
        </span>
      </div>
      <ErrorBox error={loaded.error} title="Could not read logs" />
      <div class="logbox" ref={box} onScroll={onScroll} role="region" aria-label={`Logs of ${name}`} tabIndex={0}>
        <div style={{ height: `${rows.length * ROW_PX}px` }}>
          {rows.slice(first, last).map((r, i) => (
            <Row key={`${r.entry.insertId}-${r.depth}`} entry={r.entry} depth={r.depth} top={(first + i) * ROW_PX} selected={r.entry === selected} onSelect={() => setSelected(r.entry)} />
          ))}
        </div>
      </div>
      {selected && (
        <section aria-labelledby="entry-title">
          <h2 id="entry-title">
            Entry at {dateTime(selected.timeMs)}{' '}
            <button type="button" onClick={() => setSelected(undefined)}>
              Close
            </button>
          </h2>
          <pre>{JSON.stringify(selected, null, 2)}</pre>
        </section>
      )}
    </>
  );
}
