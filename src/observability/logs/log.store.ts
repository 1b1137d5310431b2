/**
 * Durable logs: entries are buffered in memory and written to SQLite in batches off the request
 * path; tail subscribers see each entry the moment it is appended. Old entries are removed after
 * the retention period.
 */
import type { Database } from '../../store/database.js';
import { migrate } from '../../store/database.js';
import type { Clock } from '../../shared/clock.js';
import type { LogEntry, LogKind, Severity } from '../log.types.js';
import { SEVERITY_ORDER } from '../log.types.js';

const MIGRATIONS = [
  {
    id: 'logs-001-initial',
    sql: `
      CREATE TABLE logs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time_ms INTEGER NOT NULL,
        service TEXT NOT NULL,
        revision TEXT,
        kind TEXT NOT NULL,
        severity INTEGER NOT NULL,
        trace TEXT,
        doc TEXT NOT NULL
      );
      CREATE INDEX logs_by_service_time ON logs (service, time_ms);
      CREATE INDEX logs_by_time ON logs (time_ms);
    `,
  },
];

export interface LogQuery {
  service: string;
  revision?: string;
  /** Minimum severity (entries at or above it). */
  severity?: Severity;
  sinceMs?: number;
  untilMs?: number;
  kinds?: LogKind[];
  trace?: string;
  /** The newest `limit` entries are returned, oldest first. */
  limit: number;
}

export type LogListener = (entry: LogEntry) => void;

export interface LogStoreOptions {
  db: Database;
  clock: Clock;
  retentionMs: number;
  flushIntervalMs?: number;
  /** Flush early when this many entries are buffered. */
  maxBuffered?: number;
}

const severityRank = (s: Severity): number => SEVERITY_ORDER.indexOf(s);

export function matches(q: Omit<LogQuery, 'limit'>, e: LogEntry): boolean {
  if (e.service !== q.service) return false;
  if (q.revision && e.revision !== q.revision) return false;
  if (q.severity && severityRank(e.severity) < severityRank(q.severity)) return false;
  if (q.sinceMs !== undefined && e.timeMs < q.sinceMs) return false;
  if (q.untilMs !== undefined && e.timeMs > q.untilMs) return false;
  if (q.kinds && !q.kinds.includes(e.kind)) return false;
  if (q.trace && e.trace !== q.trace) return false;
  return true;
}

export class LogStore {
  private buffer: LogEntry[] = [];
  private readonly listeners = new Set<LogListener>();
  private readonly timer: NodeJS.Timeout;
  private readonly retentionTimer: NodeJS.Timeout;
  private readonly insert;
  private readonly prune;

  constructor(private readonly o: LogStoreOptions) {
    migrate(o.db, MIGRATIONS);
    this.insert = o.db.prepare(
      'INSERT INTO logs (time_ms, service, revision, kind, severity, trace, doc) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.prune = o.db.prepare('DELETE FROM logs WHERE time_ms < ?');
    this.timer = setInterval(() => this.flush(), o.flushIntervalMs ?? 50);
    this.timer.unref();
    this.retentionTimer = setInterval(() => this.applyRetention(), 60_000);
    this.retentionTimer.unref();
    this.applyRetention();
  }

  append(entry: LogEntry): void {
    this.buffer.push(entry);
    for (const l of this.listeners) l(entry);
    if (this.buffer.length >= (this.o.maxBuffered ?? 1000)) this.flush();
  }

  subscribe(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  flush(): void {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.o.db.transaction(() => {
      for (const e of batch) {
        this.insert.run(e.timeMs, e.service, e.revision ?? null, e.kind, severityRank(e.severity), e.trace ?? null, JSON.stringify(e));
      }
    })();
  }

  query(q: LogQuery): LogEntry[] {
    this.flush();
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
    const rows = this.o.db
      .prepare(`SELECT id, doc FROM logs WHERE ${where.join(' AND ')} ORDER BY time_ms DESC, id DESC LIMIT ?`)
      .all(...args, q.limit) as { id: number; doc: string }[];
    return rows.reverse().map((r) => ({ ...(JSON.parse(r.doc) as LogEntry), id: r.id }));
  }

  deleteService(service: string): void {
    this.flush();
    this.o.db.prepare('DELETE FROM logs WHERE service = ?').run(service);
  }

  applyRetention(): void {
    this.flush();
    this.prune.run(this.o.clock.now() - this.o.retentionMs);
  }

  close(): void {
    clearInterval(this.timer);
    clearInterval(this.retentionTimer);
    this.flush();
    this.listeners.clear();
  }
}
