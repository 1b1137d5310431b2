/** Revisions with their traffic, tags, image digest, instances and conditions in words; the traffic split. */
import { Fragment } from 'preact';
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Revision } from '../../../serving/revision.types.js';
import type { Service, ServiceInput } from '../../../serving/service.types.js';
import { Confirm, ErrorBox, Status, useNow } from '../components/ui.js';
import { api, enc } from '../lib/api.js';
import type { ApiError } from '../lib/api.js';
import { ago, conditionWords, readyState, shortDigest } from '../lib/format.js';
import { rebalance, sharesOf, targetsOf } from '../lib/traffic.js';
import type { Share } from '../lib/traffic.js';

export interface InstanceInfo {
  revision: string;
  id: string;
  state: 'starting' | 'ready' | 'draining';
  inFlight: number;
  frozen: boolean;
}

/** The same service with new traffic (and its resourceVersion, so a concurrent change is refused). */
export function withTraffic(s: Service, shares: readonly Share[]): ServiceInput {
  return {
    metadata: { name: s.metadata.name, labels: s.metadata.labels, annotations: s.metadata.annotations, resourceVersion: s.metadata.resourceVersion },
    spec: { template: s.spec.template, traffic: targetsOf(shares) },
  };
}

function TrafficSplit({ service, revisions, onChanged }: { service: Service; revisions: readonly Revision[]; onChanged: () => void }): JSX.Element {
  const ready = useMemo(() => revisions.filter((r) => readyState(r.status.conditions) === 'ready').map((r) => r.metadata.name), [revisions]);
  const current = useMemo(() => sharesOf(service.status.traffic, ready), [service.status.traffic, ready]);
  const [shares, setShares] = useState<Share[]>(current);
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState('');
  useEffect(() => setShares(current), [current]);
  const dirty = JSON.stringify(shares) !== JSON.stringify(current);
  const save = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api('PUT', `/api/services/${enc(service.metadata.name)}`, withTraffic(service, shares));
      setSaved(`Traffic saved: ${shares.filter((s) => s.percent > 0).map((s) => `${s.percent}% ${s.revision}`).join(', ')}`);
      onChanged();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  if (shares.length < 2) return <p class="muted">Deploy a second revision to split traffic between revisions.</p>;
  return (
    <form
      aria-labelledby="split-title"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <h2 id="split-title">Split traffic</h2>
      <div class="split">
        {shares.map((s, i) => (
          <Fragment key={s.revision}>
            <label for={`share-${s.revision}`}>
              {s.revision}
              {s.tag && <span class="muted"> (tag {s.tag})</span>}
            </label>
            <input
              id={`share-${s.revision}`}
              type="range"
              min={0}
              max={100}
              step={1}
              value={s.percent}
              aria-valuetext={`${s.percent} percent`}
              onInput={(e) => setShares(rebalance(shares, i, Number(e.currentTarget.value)))}
            />
            <input
              type="number"
              min={0}
              max={100}
              value={s.percent}
              aria-label={`${s.revision} percent`}
              onChange={(e) => setShares(rebalance(shares, i, Number(e.currentTarget.value)))}
            />
          </Fragment>
        ))}
      </div>
      <ErrorBox error={error} title="Traffic was not changed" />
      <div class="actions" style={{ justifyContent: 'flex-start' }}>
        <button type="submit" class="primary" disabled={!dirty || busy}>
          {busy ? 'Saving…' : 'Save traffic'}
        </button>
        <button type="button" disabled={!dirty || busy} onClick={() => setShares(current)}>
          Reset
        </button>
        <span role="status" class="muted">
          {!dirty && saved}
        </span>
      </div>
    </form>
  );
}

export function Overview({ service, revisions, instances, onChanged }: { service: Service; revisions: readonly Revision[]; instances: readonly InstanceInfo[]; onChanged: () => void }): JSX.Element {
  const now = useNow();
  const [deleting, setDeleting] = useState<string>();
  const share = (rev: string) => service.status.traffic.filter((t) => t.revisionName === rev).reduce((a, t) => a + (t.percent ?? 0), 0);
  const tags = (rev: string) => service.status.traffic.filter((t) => t.revisionName === rev && t.tag).map((t) => t.tag);
  const failing = service.status.conditions.filter((c) => c.status !== 'True');
  return (
    <>
      {failing.map((c) => (
        <div key={c.type} class={c.status === 'False' ? 'error' : 'notice'} role={c.status === 'False' ? 'alert' : 'status'}>
          <strong>{c.type}</strong>: {conditionWords(c)}
        </div>
      ))}
      <h2>Revisions</h2>
      <table aria-label="Revisions">
        <thead>
          <tr>
            <th scope="col">Revision</th>
            <th scope="col">Status</th>
            <th scope="col" class="num">
              Traffic
            </th>
            <th scope="col">Tags</th>
            <th scope="col">Image digest / source</th>
            <th scope="col" class="num">
              Instances
            </th>
            <th scope="col">Created</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {revisions.map((r) => {
            const state = readyState(r.status.conditions);
            const bad = r.status.conditions.filter((c) => c.status === 'False');
            const mine = instances.filter((i) => i.revision === r.metadata.name);
            const pct = share(r.metadata.name);
            const source = r.metadata.annotations['kumo.dev/source'];
            return (
              <tr key={r.metadata.name} data-revision={r.metadata.name}>
                <th scope="row">{r.metadata.name}</th>
                <td>
                  <Status state={state} />
                  {bad.map((c) => (
                    <div key={c.type} class="muted">
                      {c.type}: {conditionWords(c)}
                    </div>
                  ))}
                </td>
                <td class="num" data-traffic={pct}>
                  {pct}%
                </td>
                <td>{tags(r.metadata.name).join(', ')}</td>
                <td>
                  {r.status.imageDigest ? <code title={r.status.imageDigest}>{shortDigest(r.status.imageDigest)}</code> : source ? <span class="muted">source {shortDigest(source)}</span> : ''}
                </td>
                <td class="num">
                  {mine.filter((i) => i.state === 'ready').length}
                  {mine.some((i) => i.state === 'starting') && <span class="muted"> (+{mine.filter((i) => i.state === 'starting').length} starting)</span>}
                </td>
                <td>{ago(r.metadata.creationTimestamp, now)}</td>
                <td>
                  <button type="button" class="danger" disabled={pct > 0} title={pct > 0 ? 'A revision that serves traffic cannot be deleted' : undefined} onClick={() => setDeleting(r.metadata.name)}>
                    Delete<span class="visually-hidden"> {r.metadata.name}</span>
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <TrafficSplit service={service} revisions={revisions} onChanged={onChanged} />
      <Confirm
        open={deleting !== undefined}
        title={`Delete revision ${deleting ?? ''}?`}
        body={<p>It serves no traffic. Its instances stop and it cannot be brought back (deploy again instead).</p>}
        action="Delete revision"
        onCancel={() => setDeleting(undefined)}
        onConfirm={async () => {
          await api('DELETE', `/api/revisions/${enc(deleting ?? '')}`);
          setDeleting(undefined);
          onChanged();
        }}
      />
    </>
  );
}
