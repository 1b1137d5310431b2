/** Services: the list (status, URL, region, last deploy, requests/s, instances, sparkline), filter and sort. */
import type { JSX } from 'preact';
import { useLayoutEffect, useMemo, useRef } from 'preact/hooks';
import type { Service } from '../../../serving/service.types.js';
import { ErrorBox, lazyComponent, Loading, Sparkline, Status, useData, useLive, useNow } from '../components/ui.js';
import { get } from '../lib/api.js';
import { ago, num, readyState } from '../lib/format.js';
import type { ReadyState } from '../lib/format.js';
import { navigate, withQuery } from '../lib/router.js';
import type { PageProps } from '../nav.js';

const ServicePage = lazyComponent(() => import('./service.js').then((m) => m.ServicePage));
const DeployPage = lazyComponent(() => import('./deploy.js').then((m) => m.DeployPage));

export interface ServiceStats {
  nowMs: number;
  startMs: number;
  stepMs: number;
  steps: number;
  items: Record<string, { requestsPerSec: number; instances: { active: number; idle: number; starting: number }; requests: number[] }>;
}

interface Row {
  name: string;
  state: ReadyState;
  why: string;
  url: string;
  region: string;
  by: string;
  at: string;
  rps: number;
  active: number;
  idle: number;
  requests: number[];
}

type SortKey = 'name' | 'state' | 'region' | 'at' | 'rps' | 'instances';

const COLUMNS: { key: SortKey | undefined; label: string; sub?: string }[] = [
  { key: 'state', label: 'Status' },
  { key: 'name', label: 'Name' },
  { key: undefined, label: 'URL' },
  { key: 'region', label: 'Region' },
  { key: 'at', label: 'Last deployed' },
  { key: 'rps', label: 'Requests/s' },
  { key: 'instances', label: 'Instances', sub: 'active / idle' },
  { key: undefined, label: 'Requests', sub: 'last 30 min' },
];

function rowsOf(services: readonly Service[], stats: ServiceStats | undefined): Row[] {
  return services.map((s) => {
    const st = stats?.items[s.metadata.name];
    const ready = s.status.conditions.find((c) => c.type === 'Ready');
    return {
      name: s.metadata.name,
      state: readyState(s.status.conditions),
      why: ready?.status === 'False' ? [ready.reason, ready.message].filter(Boolean).join(': ') : '',
      url: s.status.url ?? '',
      region: s.metadata.labels['cloud.googleapis.com/location'] ?? '',
      by: s.metadata.annotations['serving.knative.dev/lastModifier'] ?? '',
      at: ready?.lastTransitionTime ?? s.metadata.creationTimestamp,
      rps: st?.requestsPerSec ?? 0,
      active: st?.instances.active ?? 0,
      idle: st?.instances.idle ?? 0,
      requests: st?.requests ?? [],
    };
  });
}

function compare(a: Row, b: Row, key: SortKey): number {
  switch (key) {
    case 'rps':
      return a.rps - b.rps;
    case 'instances':
      return a.active + a.idle - (b.active + b.idle);
    case 'at':
      return a.at.localeCompare(b.at);
    default:
      return a[key].localeCompare(b[key]);
  }
}

function ServicesList({ loc }: PageProps): JSX.Element {
  const services = useData((signal) => get<{ items: Service[] }>('/api/services', signal), []);
  const stats = useData((signal) => get<ServiceStats>('/api/services:stats', signal), []);
  useLive((e) => {
    if (e.type === 'changed' || e.type === 'open') services.reload();
    if (e.type !== 'changed') stats.reload();
  });
  const now = useNow();
  const filter = loc.query.get('q') ?? '';
  const sort = (loc.query.get('sort') ?? 'name') as SortKey;
  const desc = loc.query.get('dir') === 'desc';
  const rows = useMemo(() => {
    const f = filter.toLowerCase();
    const all = rowsOf(services.data?.items ?? [], stats.data).filter((r) => !f || `${r.name} ${r.url} ${r.region} ${r.by}`.toLowerCase().includes(f));
    all.sort((a, b) => (desc ? -1 : 1) * compare(a, b, sort) || a.name.localeCompare(b.name));
    return all;
  }, [services.data, stats.data, filter, sort, desc]);

  // First meaningful paint: marked once the frame that painted the rows has ended (the tests read it).
  const marked = useRef(false);
  useLayoutEffect(() => {
    if (marked.current || !services.data) return;
    marked.current = true;
    requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('kumo:services-list')));
  }, [services.data]);

  const sortBy = (key: SortKey) => navigate(withQuery(loc, { sort: key, dir: key === sort && !desc ? 'desc' : undefined }), true);
  const total = services.data?.items.length ?? 0;
  return (
    <>
      <div class="page-head">
        <h1>Services</h1>
        <a class="button primary" href="/services/-/deploy">
          Deploy a service
        </a>
      </div>
      <div class="toolbar">
        <label>
          Filter{' '}
          <input type="search" value={filter} placeholder="name, URL, region" onInput={(e) => navigate(withQuery(loc, { q: e.currentTarget.value }), true)} />
        </label>
        <span class="muted" aria-live="polite">
          {rows.length === total ? `${total} service${total === 1 ? '' : 's'}` : `${rows.length} of ${total} services`}
        </span>
      </div>
      <ErrorBox error={services.error} title="Could not list services" />
      {!services.data && !services.error && <Loading what="services" />}
      {services.data && total === 0 && (
        <p>
          No services yet. Deploy one here, or with <code>kumo run deploy NAME --source DIR</code>.
        </p>
      )}
      {total > 0 && (
        <table class="list" aria-label="Services">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th key={c.label} scope="col" aria-sort={c.key && c.key === sort ? (desc ? 'descending' : 'ascending') : undefined}>
                  {c.key ? (
                    <button type="button" class="sort" onClick={() => c.key && sortBy(c.key)}>
                      {c.label}
                      <span aria-hidden="true">{c.key === sort ? (desc ? ' ▼' : ' ▲') : ''}</span>
                    </button>
                  ) : (
                    c.label
                  )}
                  {c.sub && <span class="sub">{c.sub}</span>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.name} data-service={r.name}>
                <td>
                  <Status state={r.state} {...(r.why ? { title: r.why } : {})} />
                </td>
                <th scope="row">
                  <a href={`/services/${encodeURIComponent(r.name)}`}>{r.name}</a>
                </th>
                <td>
                  {r.url && (
                    <a href={r.url} target="_blank" rel="noopener noreferrer">
                      {r.url.replace(/^https?:\/\//, '')}
                    </a>
                  )}
                </td>
                <td>{r.region}</td>
                <td>
                  {ago(r.at, now)}
                  {r.by && <span class="muted"> by {r.by}</span>}
                </td>
                <td class="num" data-metric="rps">
                  {num(r.rps)}
                </td>
                <td class="num" data-metric="instances">
                  {r.active} / {r.idle}
                </td>
                <td>
                  <Sparkline width={100} values={r.requests} label={`${r.name}: ${r.requests.reduce((a, b) => a + b, 0)} requests in the last 30 minutes`} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

export function Page(props: PageProps): JSX.Element {
  if (!props.rest) return <ServicesList {...props} />;
  const [name = '', sub] = props.rest.split('/');
  return sub === 'deploy' ? <DeployPage service={name === '-' ? undefined : name} /> : <ServicePage name={name} loc={props.loc} />;
}
