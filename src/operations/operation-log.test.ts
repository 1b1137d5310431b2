import { describe, expect, it } from 'vitest';
import { OperationLog } from './operation-log.js';
import type { OperationStore } from './operation-log.js';
import type { Operation } from './operation.types.js';

function memoryStore(): OperationStore {
  const ops = new Map<string, Operation>();
  return {
    findOperation: (n) => ops.get(n),
    listOperations: () => [...ops.values()],
    putOperation: (op) => void ops.set(op.name, op),
    deleteOperation: (n) => void ops.delete(n),
  };
}

const op = (): Operation => ({
  name: 'projects/p/locations/l/operations/1',
  kind: 'deploy',
  target: 'projects/p/locations/l/services/s',
  createTime: '2026-01-01T00:00:00.000Z',
  updateTime: '2026-01-01T00:00:00.000Z',
  done: false,
  steps: [
    { id: 'instance', title: 'Starting', state: 'pending', updateTime: '' },
    { id: 'traffic', title: 'Routing', state: 'pending', updateTime: '' },
  ],
});

describe('OperationLog', () => {
  it('wakes a waiter on a step change and when done', async () => {
    let t = Date.parse('2026-01-01T00:00:01Z');
    const log = new OperationLog(memoryStore(), () => t);
    const first = op();
    log.put(first);
    const changed = log.wait(first.name, 5000, first.updateTime);
    const started = log.step(first, 'instance', 'running');
    expect((await changed).steps[0]?.state).toBe('running');
    const done = log.wait(first.name, 5000);
    t += 1000;
    log.finish(started, { code: 'UNAVAILABLE', message: 'boom' });
    const final = await done;
    expect(final).toMatchObject({ done: true, error: { code: 'UNAVAILABLE' } });
    expect(final.steps.map((s) => s.state)).toEqual(['skipped', 'skipped']);
  });

  it('returns the current state when the wait times out, and refuses unknown names', async () => {
    const log = new OperationLog(memoryStore(), () => 0);
    log.put(op());
    expect((await log.wait(op().name, 50)).done).toBe(false);
    expect(() => log.get('nope')).toThrow(/operation "nope" not found/);
  });
});
