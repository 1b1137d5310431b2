import { describe, expect, it } from 'vitest';
import { migrate, openDatabase } from './database.js';

describe('database', () => {
  it('applies each migration once', () => {
    const db = openDatabase(':memory:');
    const migrations = [{ id: 't-001', sql: 'CREATE TABLE t (x INTEGER)' }];
    migrate(db, migrations);
    migrate(db, migrations);
    db.prepare('INSERT INTO t (x) VALUES (1)').run();
    expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 1 });
    migrate(db, [...migrations, { id: 't-002', sql: 'ALTER TABLE t ADD COLUMN y TEXT' }]);
    expect(db.prepare('SELECT id FROM kumo_migrations ORDER BY id').all()).toEqual([{ id: 't-001' }, { id: 't-002' }]);
  });

  it('rolls back a failing migration', () => {
    const db = openDatabase(':memory:');
    expect(() => migrate(db, [{ id: 'bad', sql: 'CREATE TABLE a (x); NOT SQL' }])).toThrow();
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'a'").get()).toBeUndefined();
  });
});
