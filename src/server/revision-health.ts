/**
 * Why a revision's instances die, kept on the revision as Knative's `ContainerHealthy` condition:
 * an instance killed at its memory limit or crashing sets it False (reason `OOMKilled` or
 * `ExitCodeN`, and the sentence from the logs); a later instance that served requests and ended
 * the normal way (kumo stopped it) sets it True again. `Ready` is left alone: the revision still serves, as on Cloud
 * Run, where the next request gets a new instance.
 */
import type { ExitInfo } from '../runtime/runtime.js';
import type { InstanceSlot, PoolObserver } from '../serving/dispatcher/revision-pool.js';
import type { Revision } from '../serving/revision.types.js';
import { conditionOf, setCondition } from '../serving/service.lifecycle.js';
import type { ServingStore } from '../serving/serving.store.js';

/** The ContainerHealthy condition an instance's end calls for, or undefined to leave it. Pure. */
export function healthAfterExit(instanceId: string, exit: ExitInfo, expected: boolean): { status: 'True' | 'False'; reason?: string; message?: string } {
  if (exit.oomKilled) return { status: 'False', reason: 'OOMKilled', message: `Instance ${instanceId} was terminated: ${exit.reason}. Raise --memory.` };
  if (expected) return { status: 'True' };
  const reason = exit.code !== null ? `ExitCode${exit.code}` : exit.signal ? `Signal${exit.signal}` : 'Exited';
  return { status: 'False', reason, message: `Instance ${instanceId} crashed: it ${exit.reason}` };
}

export function revisionHealthObserver(store: ServingStore, revision: string, now: () => number): Pick<PoolObserver, 'instanceExited' | 'requestEnded'> {
  // Instances that served a request: only their normal end shows the revision healthy again
  // (an instance the autoscaler starts and drops unused proves nothing).
  const served = new Set<string>();
  return {
    requestEnded: (slot: InstanceSlot) => {
      served.add(slot.id);
    },
    instanceExited: (slot: InstanceSlot, exit: ExitInfo, expected: boolean) => {
      const didServe = served.delete(slot.id);
      const rev: Revision | undefined = store.findRevision(revision);
      if (!rev) return;
      const next = healthAfterExit(slot.id, exit, expected);
      const prev = conditionOf(rev.status.conditions, 'ContainerHealthy');
      // Nothing to record: a normal end while healthy (the usual scale-down), or one that proves nothing.
      if (next.status === 'True' && (prev?.status !== 'False' || !didServe)) return;
      const conditions = setCondition(rev.status.conditions, 'ContainerHealthy', next.status, new Date(now()).toISOString(), next.reason, next.message);
      store.putRevision({ ...rev, metadata: { ...rev.metadata, resourceVersion: store.nextVersion() }, status: { ...rev.status, conditions } });
    },
  };
}

/** Several observers as one (telemetry and revision health both watch the pools). */
export function observeAll(first: PoolObserver, ...more: Partial<PoolObserver>[]): PoolObserver {
  return {
    instanceStarting: (s) => {
      first.instanceStarting(s);
      for (const o of more) o.instanceStarting?.(s);
    },
    instanceReady: (s, ms) => {
      first.instanceReady(s, ms);
      for (const o of more) o.instanceReady?.(s, ms);
    },
    instanceFailed: (s, err) => {
      first.instanceFailed(s, err);
      for (const o of more) o.instanceFailed?.(s, err);
    },
    instanceStopping: (s) => {
      first.instanceStopping(s);
      for (const o of more) o.instanceStopping?.(s);
    },
    instanceExited: (s, exit, expected) => {
      first.instanceExited(s, exit, expected);
      for (const o of more) o.instanceExited?.(s, exit, expected);
    },
    requestStarted: (s, t) => {
      first.requestStarted(s, t);
      for (const o of more) o.requestStarted?.(s, t);
    },
    requestEnded: (s, t) => {
      first.requestEnded(s, t);
      for (const o of more) o.requestEnded?.(s, t);
    },
  };
}
