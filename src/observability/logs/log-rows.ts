/**
 * The logs table and how an entry becomes a row: shared by the store (inline writes and reads)
 * and the writer thread.
 */
import type { Database } from '../../store/database.js';
import type { LogEntry, LogKind, Severity } from '../log.types.js';
import { SEVERITY_ORDER } from '../log.types.js';
import { rfc3339Micros } from '../structured/entries.js';

export const LOG_MIGRATIONS = [
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
  {
    // Every insert paid for this index; retention's once-a-minute delete can scan instead.
    id: 'logs-002-drop-time-index',
    sql: 'DROP INDEX IF EXISTS logs_by_time;',
  },
];

export const severityRank = (s: Severity): number => SEVERITY_ORDER.indexOf(s);

/** The columns of a stored row, beside its JSON. */
export interface RowColumns {
  id: number;
  time_ms: number;
  service: string;
  revision: string | null;
  kind: string;
  severity: number;
  trace: string | null;
  doc: string;
}

/**
 * The entry a row holds. Request log rows keep only what the columns do not (see
 * `requestLogJson`); the column fields are put back here (for full documents they are the same).
 */
export function entryOf(r: RowColumns): LogEntry {
  const doc = JSON.parse(r.doc) as LogEntry;
  if (r.kind !== 'requests') return { ...doc, id: r.id };
  const e: LogEntry = {
    ...doc,
    id: r.id,
    timestamp: doc.timestamp ?? rfc3339Micros(r.time_ms),
    timeMs: r.time_ms,
    severity: SEVERITY_ORDER[r.severity] ?? 'DEFAULT',
    kind: 'requests',
    service: r.service,
  };
  if (r.revision) e.revision = r.revision;
  if (r.trace) e.trace = r.trace;
  return e;
}

/**
 * One entry as one line: its indexed columns, tab-separated, then its JSON (JSON escapes tabs and
 * newlines inside strings, so neither can appear in it). The writer needs no JSON parsing.
 */
export function encodeRow(e: LogEntry): string {
  return rowOf(e.timeMs, e.service, e.revision, e.kind, e.severity, e.trace, JSON.stringify(e));
}

/** A row from its columns and the entry's JSON text (for entries written as text directly). */
export function rowOf(timeMs: number, service: string, revision: string | undefined, kind: LogKind, severity: Severity, trace: string | undefined, json: string): string {
  // The trace may come from an app's own JSON line: keep it to one field.
  const t = trace === undefined ? '' : /[\t\n\r]/.test(trace) ? trace.replace(/[\t\n\r]/g, ' ') : trace;
  return `${timeMs}\t${service}\t${revision ?? ''}\t${kind}\t${severityRank(severity)}\t${t}\t${json}`;
}

const COLUMNS = '(time_ms, service, revision, kind, severity, trace, doc)';
/** Rows per INSERT statement: one statement for many rows costs less per row than one each. */
const ROWS_PER_INSERT = 32;

/** The seven column values of an encoded row, appended to `out`. */
function pushRow(out: (string | number | null)[], row: string): void {
  let at = 0;
  const field = (): string => {
    const tab = row.indexOf('\t', at);
    const v = row.slice(at, tab);
    at = tab + 1;
    return v;
  };
  const timeMs = Number(field());
  const service = field();
  const revision = field();
  const kind = field();
  const severity = Number(field());
  const trace = field();
  out.push(timeMs, service, revision || null, kind, severity, trace || null, row.slice(at));
}

/** Insert rows given as encoded lines (one per line), in one transaction. */
export function rowWriter(db: Database): (lines: string) => number {
  const one = db.prepare(`INSERT INTO logs ${COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const many = db.prepare(`INSERT INTO logs ${COLUMNS} VALUES ${Array(ROWS_PER_INSERT).fill('(?, ?, ?, ?, ?, ?, ?)').join(', ')}`);
  const write = db.transaction((rows: string[]) => {
    let i = 0;
    const values: (string | number | null)[] = [];
    for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
      values.length = 0;
      for (let j = i; j < i + ROWS_PER_INSERT; j++) pushRow(values, rows[j] as string);
      many.run(values);
    }
    for (; i < rows.length; i++) {
      values.length = 0;
      pushRow(values, rows[i] as string);
      one.run(values);
    }
    return rows.length;
  });
  return (lines) => (lines.length === 0 ? 0 : write(lines.split('\n')));
}
