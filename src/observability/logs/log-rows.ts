/**
 * The logs table and how an entry becomes a row: shared by the store (inline writes and reads)
 * and the writer thread.
 */
import type { Database } from '../../store/database.js';
import type { LogEntry, Severity } from '../log.types.js';
import { SEVERITY_ORDER } from '../log.types.js';

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
];

export const severityRank = (s: Severity): number => SEVERITY_ORDER.indexOf(s);

/**
 * One entry as one line: its indexed columns, tab-separated, then its JSON (JSON escapes tabs and
 * newlines inside strings, so neither can appear in it). The writer needs no JSON parsing.
 */
export function encodeRow(e: LogEntry): string {
  // The trace may come from an app's own JSON line: keep it to one field.
  const trace = e.trace === undefined ? '' : /[\t\n\r]/.test(e.trace) ? e.trace.replace(/[\t\n\r]/g, ' ') : e.trace;
  return `${e.timeMs}\t${e.service}\t${e.revision ?? ''}\t${e.kind}\t${severityRank(e.severity)}\t${trace}\t${JSON.stringify(e)}`;
}

/** Insert rows given as encoded lines (one per line), in one transaction. */
export function rowWriter(db: Database): (lines: string) => number {
  const insert = db.prepare('INSERT INTO logs (time_ms, service, revision, kind, severity, trace, doc) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const write = db.transaction((rows: string[]) => {
    for (const row of rows) {
      let at = 0;
      const field = () => {
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
      insert.run(timeMs, service, revision || null, kind, severity, trace || null, row.slice(at));
    }
    return rows.length;
  });
  return (lines) => (lines.length === 0 ? 0 : write(lines.split('\n')));
}
