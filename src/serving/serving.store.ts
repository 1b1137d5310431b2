/**
 * The serving room's SQLite adapter: services, revisions, operations and IAM policies as JSON
 * documents with a few indexed columns. No row type leaves this file.
 */
import type { Database } from '../store/database.js';
import { migrate } from '../store/database.js';
import { KumoError } from '../shared/errors.js';
import type { Operation } from '../operations/operation.types.js';
import type { IamPolicy } from './control.js';
import type { Revision } from './revision.types.js';
import type { Service } from './service.types.js';

const MIGRATIONS = [
  {
    id: 'serving-001-initial',
    sql: `
      CREATE TABLE serving_services (
        name TEXT PRIMARY KEY,
        doc TEXT NOT NULL
      );
      CREATE TABLE serving_revisions (
        name TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        doc TEXT NOT NULL
      );
      CREATE INDEX serving_revisions_by_service ON serving_revisions (service, created_ms);
      CREATE TABLE serving_operations (
        name TEXT PRIMARY KEY,
        target TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        done INTEGER NOT NULL,
        doc TEXT NOT NULL
      );
      CREATE TABLE serving_iam_policies (
        service TEXT PRIMARY KEY,
        doc TEXT NOT NULL
      );
      CREATE TABLE serving_sequence (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        value INTEGER NOT NULL
      );
      INSERT INTO serving_sequence (id, value) VALUES (1, 0);
    `,
  },
];

export class ServingStore {
  private readonly q;

  constructor(private readonly db: Database) {
    migrate(db, MIGRATIONS);
    this.q = {
      nextSeq: db.prepare('UPDATE serving_sequence SET value = value + 1 WHERE id = 1 RETURNING value'),
      getService: db.prepare('SELECT doc FROM serving_services WHERE name = ?'),
      listServices: db.prepare('SELECT doc FROM serving_services ORDER BY name'),
      putService: db.prepare('INSERT INTO serving_services (name, doc) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET doc = excluded.doc'),
      deleteService: db.prepare('DELETE FROM serving_services WHERE name = ?'),
      getRevision: db.prepare('SELECT doc FROM serving_revisions WHERE name = ?'),
      listRevisions: db.prepare('SELECT doc FROM serving_revisions WHERE service = ? ORDER BY created_ms DESC, name DESC'),
      listAllRevisions: db.prepare('SELECT doc FROM serving_revisions ORDER BY service, created_ms DESC, name DESC'),
      putRevision: db.prepare(
        'INSERT INTO serving_revisions (name, service, created_ms, doc) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET doc = excluded.doc',
      ),
      deleteRevision: db.prepare('DELETE FROM serving_revisions WHERE name = ?'),
      deleteRevisionsOf: db.prepare('DELETE FROM serving_revisions WHERE service = ?'),
      getOperation: db.prepare('SELECT doc FROM serving_operations WHERE name = ?'),
      listOperations: db.prepare('SELECT doc FROM serving_operations ORDER BY created_ms DESC'),
      putOperation: db.prepare(
        'INSERT INTO serving_operations (name, target, created_ms, done, doc) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET done = excluded.done, doc = excluded.doc',
      ),
      deleteOperation: db.prepare('DELETE FROM serving_operations WHERE name = ?'),
      getPolicy: db.prepare('SELECT doc FROM serving_iam_policies WHERE service = ?'),
      putPolicy: db.prepare('INSERT INTO serving_iam_policies (service, doc) VALUES (?, ?) ON CONFLICT(service) DO UPDATE SET doc = excluded.doc'),
      deletePolicy: db.prepare('DELETE FROM serving_iam_policies WHERE service = ?'),
    };
  }

  private readonly writeListeners = new Set<(service: string) => void>();

  /**
   * Told after every write, with the service it concerns ('' when unknown): the dashboard's live
   * view. Writes come in bursts and may sit inside a transaction: listeners read later, not here.
   */
  onWrite(listener: (service: string) => void): () => void {
    this.writeListeners.add(listener);
    return () => this.writeListeners.delete(listener);
  }

  private wrote(service: string): void {
    for (const fn of this.writeListeners) fn(service);
  }

  /** A new resourceVersion: increases with every write, across all objects. */
  nextVersion(): string {
    return String((this.q.nextSeq.get() as { value: number }).value);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  findService(name: string): Service | undefined {
    const row = this.q.getService.get(name) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as Service) : undefined;
  }

  getService(name: string): Service {
    const s = this.findService(name);
    if (!s) throw new KumoError('NOT_FOUND', `service "${name}" not found; list services with \`kumo run services list\``, { service: name });
    return s;
  }

  listServices(): Service[] {
    return (this.q.listServices.all() as { doc: string }[]).map((r) => JSON.parse(r.doc) as Service);
  }

  putService(s: Service): void {
    this.q.putService.run(s.metadata.name, JSON.stringify(s));
    this.wrote(s.metadata.name);
  }

  deleteService(name: string): void {
    this.transaction(() => {
      this.q.deleteService.run(name);
      this.q.deleteRevisionsOf.run(name);
      this.q.deletePolicy.run(name);
    });
    this.wrote(name);
  }

  findRevision(name: string): Revision | undefined {
    const row = this.q.getRevision.get(name) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as Revision) : undefined;
  }

  listRevisions(service?: string): Revision[] {
    const rows = (service === undefined ? this.q.listAllRevisions.all() : this.q.listRevisions.all(service)) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as Revision);
  }

  putRevision(r: Revision): void {
    const service = r.metadata.labels['serving.knative.dev/service'] ?? '';
    this.q.putRevision.run(r.metadata.name, service, Date.parse(r.metadata.creationTimestamp), JSON.stringify(r));
    this.wrote(service);
  }

  deleteRevision(name: string): void {
    this.q.deleteRevision.run(name);
    this.wrote('');
  }

  findOperation(name: string): Operation | undefined {
    const row = this.q.getOperation.get(name) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as Operation) : undefined;
  }

  listOperations(): Operation[] {
    return (this.q.listOperations.all() as { doc: string }[]).map((r) => JSON.parse(r.doc) as Operation);
  }

  putOperation(op: Operation): void {
    this.q.putOperation.run(op.name, op.target, Date.parse(op.createTime), op.done ? 1 : 0, JSON.stringify(op));
    this.wrote(op.target.slice(op.target.lastIndexOf('/') + 1));
  }

  deleteOperation(name: string): void {
    this.q.deleteOperation.run(name);
  }

  findPolicy(service: string): IamPolicy | undefined {
    const row = this.q.getPolicy.get(service) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as IamPolicy) : undefined;
  }

  putPolicy(service: string, p: IamPolicy): void {
    this.q.putPolicy.run(service, JSON.stringify(p));
    this.wrote(service);
  }
}
