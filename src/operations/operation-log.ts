/**
 * Long-running operations over their store: create, read, step through, finish, and wait for
 * (CLI progress, `google.longrunning.Operations.Wait`). Waiters are woken on every change.
 */
import { KumoError } from '../shared/errors.js';
import type { Operation, OperationError, OperationStep } from './operation.types.js';

export interface OperationStore {
  findOperation(name: string): Operation | undefined;
  listOperations(): Operation[];
  putOperation(op: Operation): void;
  deleteOperation(name: string): void;
}

export class OperationLog {
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    private readonly store: OperationStore,
    private readonly now: () => number,
  ) {}

  put(op: Operation): void {
    this.store.putOperation(op);
    this.notify(op.name);
  }

  get(name: string): Operation {
    const op = this.store.findOperation(name);
    if (!op) throw new KumoError('NOT_FOUND', `operation "${name}" not found`);
    return op;
  }

  find(name: string): Operation | undefined {
    return this.store.findOperation(name);
  }

  list(): Operation[] {
    return this.store.listOperations();
  }

  delete(name: string): void {
    this.get(name);
    this.store.deleteOperation(name);
  }

  /** Resolves when the operation is done, or changed since `changedSince` (an updateTime), or after `timeoutMs`. */
  async wait(name: string, timeoutMs: number, changedSince?: string): Promise<Operation> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const op = this.get(name);
      if (op.done || (changedSince !== undefined && op.updateTime !== changedSince)) return op;
      const left = deadline - Date.now();
      if (left <= 0) return op;
      await this.nextChange(name, left);
    }
  }

  /** Set one step's state; returns the stored operation. */
  step(op: Operation, id: string, state: OperationStep['state'], message?: string): Operation {
    const nowIso = new Date(this.now()).toISOString();
    const next: Operation = {
      ...op,
      updateTime: nowIso,
      steps: op.steps.map((s) => (s.id === id ? { ...s, state, updateTime: nowIso, ...(message ? { message } : {}) } : s)),
    };
    this.put(next);
    return next;
  }

  /** Mark done, with an error or a result; steps still open end as done (or skipped on error). */
  finish(op: Operation, error?: OperationError, result?: Record<string, unknown>): void {
    const nowIso = new Date(this.now()).toISOString();
    this.put({
      ...op,
      done: true,
      updateTime: nowIso,
      endTime: nowIso,
      steps: op.steps.map((s) => (s.state === 'running' || s.state === 'pending' ? { ...s, state: error ? 'skipped' : 'done', updateTime: nowIso } : s)),
      ...(error ? { error } : {}),
      ...(result ? { result } : {}),
    });
  }

  private nextChange(name: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const set = this.waiters.get(name) ?? new Set();
      this.waiters.set(name, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      set.add(done);
    });
  }

  private notify(name: string): void {
    const set = this.waiters.get(name);
    if (!set) return;
    this.waiters.delete(name);
    for (const fn of set) fn();
  }
}
