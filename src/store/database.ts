/**
 * The embedded SQLite database (WAL) in KUMO_HOME. Each room owns its tables: it passes its own
 * named migrations to `migrate`, and keeps its SQL in its own `*.store.ts` adapter.
 */
import Sqlite from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Database = Sqlite.Database;

export interface Migration {
  /** Stable, never reused: `serving-001-services`. */
  id: string;
  sql: string;
}

export function openDatabase(file: string): Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Sqlite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS kumo_migrations (
    id TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL
  )`);
  return db;
}

/** Apply, in order and each in its own transaction, the migrations not yet applied. */
export function migrate(db: Database, migrations: readonly Migration[]): void {
  const applied = new Set(
    (db.prepare('SELECT id FROM kumo_migrations').all() as { id: string }[]).map((r) => r.id),
  );
  const record = db.prepare('INSERT INTO kumo_migrations (id, applied_at) VALUES (?, ?)');
  for (const m of migrations) {
    if (applied.has(m.id)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.id, new Date().toISOString());
    })();
  }
}
