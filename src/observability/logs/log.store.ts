/**
 * Durable logs. An appended entry is encoded at once (a small, steady cost), tail subscribers see
 * it at once, and batches of encoded entries go to SQLite off the request path: by default in a
 * writer thread with its own connection (`log-writer.worker.ts`), so inserts never stall the
 * router; `inline` writes in this thread (tests, tools). Reads use this thread's connection
 * after the writer has caught up. Old entries are removed after the retention period.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Database } from '../../store/database.js';
import { migrate } from '../../store/database.js';
import type { Clock } from '../../shared/clock.js';
import { KumoError } from '../../shared/errors.js';
import type { LogEntry, LogKind, Severity } from '../log.types.js';
import { encodeRow, entryOf, LOG_MIGRATIONS, rowWriter, severityRank } from './log-rows.js';
import type { RowColumns } from './log-rows.js';
import type { WriterMessage } from './log-writer.worker.js';

export interface LogQuery {
  service: string;
  revision?: string;
  /** Minimum severity (entries at or above it). */
  severity?: Severity;
  sinceMs?: number;
  untilMs?: number;
  kinds?: LogKind[];
  trace?: string;
  /** Entries whose text (payload, URL, labels: the whole entry) contains this, ignoring case. */
  text?: string;
  /** The newest `limit` entries are returned, oldest first. */
  limit: number;
}

export type LogListener = (entry: LogEntry) => void;

export interface LogStoreOptions {
  db: Database;
  clock: Clock;
  retentionMs: number;
  flushIntervalMs?: number;
  /** `thread` (default): writes in a worker with its own connection to `file`; `inline`: in this thread. */
  writer?: { kind: 'thread'; file: string } | { kind: 'inline' };
}

export function matches(q: Omit<LogQuery, 'limit'>, e: LogEntry): boolean {
  if (e.service !== q.service) return false;
  if (q.revision && e.revision !== q.revision) return false;
  if (q.severity && severityRank(e.severity) < severityRank(q.severity)) return false;
  if (q.sinceMs !== undefined && e.timeMs < q.sinceMs) return false;
  if (q.untilMs !== undefined && e.timeMs > q.untilMs) return false;
  if (q.kinds && !q.kinds.includes(e.kind)) return false;
  if (q.trace && e.trace !== q.trace) return false;
  if (q.text && !JSON.stringify(e).toLowerCase().includes(q.text.toLowerCase())) return false;
  return true;
}

const WORKER_URL = new URL('./log-writer.worker.js', import.meta.url);

export class LogStore {
  private pending: string[] = [];
  private readonly listeners = new Set<LogListener>();
  private readonly timer: NodeJS.Timeout;
  private readonly retentionTimer: NodeJS.Timeout;
  private readonly worker: Worker | undefined;
  private readonly writeInline: ((lines: string) => number) | undefined;
  private seq = 0;
  private readonly acks = new Map<number, (err?: Error) => void>();

  constructor(private readonly o: LogStoreOptions) {
    migrate(o.db, LOG_MIGRATIONS);
    const writer = o.writer ?? { kind: 'inline' };
    if (writer.kind === 'thread') {
      if (!existsSync(fileURLToPath(WORKER_URL))) {
        throw new KumoError('INTERNAL', `the log writer ${fileURLToPath(WORKER_URL)} is missing; rebuild kumo (npm run build)`);
      }
      this.worker = new Worker(WORKER_URL, { workerData: { file: writer.file } });
      this.worker.on('message', (m: { seq: number; error?: string }) => {
        const ack = this.acks.get(m.seq);
        this.acks.delete(m.seq);
        if (m.error) console.error(`kumo: writing logs failed: ${m.error}`);
        ack?.(m.error ? new Error(m.error) : undefined);
      });
      this.worker.on('error', (err) => console.error('kumo: the log writer thread failed:', err));
      this.worker.unref();
    } else {
      this.writeInline = rowWriter(o.db);
    }
    this.timer = setInterval(() => this.flush(), o.flushIntervalMs ?? 50);
    this.timer.unref();
    this.retentionTimer = setInterval(() => void this.applyRetention(), 60_000);
    this.retentionTimer.unref();
    void this.applyRetention();
  }

  append(entry: LogEntry): void {
    this.pending.push(encodeRow(entry));
    for (const l of this.listeners) l(entry);
  }

  /** An entry already encoded as a row (`rowOf`); `entry` builds the object only for tail subscribers. */
  appendRow(row: string, entry: () => LogEntry): void {
    this.pending.push(row);
    if (this.listeners.size === 0) return;
    const e = entry();
    for (const l of this.listeners) l(e);
  }

  subscribe(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hand what is pending to the writer; resolves once it is in SQLite. */
  flush(): Promise<void> {
    const lines = this.pending.length > 0 ? this.pending.join('\n') : '';
    this.pending = [];
    if (this.writeInline) {
      this.writeInline(lines);
      return Promise.resolve();
    }
    if (lines === '' && this.acks.size === 0) return Promise.resolve();
    return this.send({ seq: ++this.seq, lines });
  }

  async query(q: LogQuery): Promise<LogEntry[]> {
    await this.flush();
    const where = ['service = ?'];
    const args: (string | number)[] = [q.service];
    if (q.revision) {
      where.push('revision = ?');
      args.push(q.revision);
    }
    if (q.severity) {
      where.push('severity >= ?');
      args.push(severityRank(q.severity));
    }
    if (q.sinceMs !== undefined) {
      where.push('time_ms >= ?');
      args.push(q.sinceMs);
    }
    if (q.untilMs !== undefined) {
      where.push('time_ms <= ?');
      args.push(q.untilMs);
    }
    if (q.kinds && q.kinds.length > 0) {
      where.push(`kind IN (${q.kinds.map(() => '?').join(', ')})`);
      args.push(...q.kinds);
    }
    if (q.trace) {
      where.push('trace = ?');
      args.push(q.trace);
    }
    if (q.text) {
      // The stored JSON escapes some characters; search for the text as JSON spells it.
      where.push('instr(lower(doc), ?) > 0');
      args.push(JSON.stringify(q.text.toLowerCase()).slice(1, -1));
    }
    const rows = this.o.db
      .prepare(`SELECT id, time_ms, service, revision, kind, severity, trace, doc FROM logs WHERE ${where.join(' AND ')} ORDER BY time_ms DESC, id DESC LIMIT ?`)
      .all(...args, q.limit) as RowColumns[];
    return rows.reverse().map(entryOf);
  }

  async applyRetention(): Promise<void> {
    await this.flush();
    const before = this.o.clock.now() - this.o.retentionMs;
    if (this.worker) await this.send({ seq: ++this.seq, pruneBeforeMs: before });
    else this.o.db.prepare('DELETE FROM logs WHERE time_ms < ?').run(before);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.retentionTimer);
    await this.flush();
    this.listeners.clear();
    if (this.worker) {
      await this.send({ seq: ++this.seq, close: true });
      await this.worker.terminate();
    }
  }

  private send(m: WriterMessage): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.acks.set(m.seq, (err) => (err ? reject(err) : resolve()));
      worker.postMessage(m);
    });
  }
}
