/** A service: URL and tag URLs, revisions and traffic, metrics, logs, YAML, settings; live. */
import { Fragment } from 'preact';
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { Revision } from '../../../serving/revision.types.js';
import type { Service } from '../../../serving/service.types.js';
import { Confirm, ErrorBox, lazyComponent, Loading, Status, Tabs, useData, useLive } from '../components/ui.js';
import { api, enc, get } from '../lib/api.js';
import { readyState } from '../lib/format.js';
import type { Loc } from '../lib/router.js';
import { navigate, withQuery } from '../lib/router.js';
import { Overview } from './service-overview.js';
import type { InstanceInfo } from './service-overview.js';

const Metrics = lazyComponent(() => import('./service-metrics.js').then((m) => m.Metrics));
const Logs = lazyComponent(() => import('./service-logs.js').then((m) => m.Logs));
const Yaml = lazyComponent(() => import('./service-yaml.js').then((m) => m.Yaml));
const Settings = lazyComponent(() => import('./service-settings.js').then((m) => m.Settings));

const TABS = [
  { id: 'overview', label: 'Revisions and traffic' },
  { id: 'metrics', label: 'Metrics' },
  { id: 'logs', label: 'Logs' },
  { id: 'yaml', label: 'YAML' },
  { id: 'settings', label: 'Settings' },
] as const;

export function ServicePage({ name, loc }: { name: string; loc: Loc }): JSX.Element {
  const service = useData((signal) => get<Service>(`/api/services/${enc(name)}`, signal), [name]);
  const revisions = useData((signal) => get<{ items: Revision[] }>(`/api/revisions?service=${enc(name)}`, signal), [name]);
  const instances = useData((signal) => get<{ items: InstanceInfo[] }>(`/api/services/${enc(name)}/instances`, signal), [name]);
  const [deleting, setDeleting] = useState(false);
  useLive((e) => {
    if (e.type === 'open' || (e.type === 'changed' && (e.services.includes(name) || e.services.includes('')))) {
      service.reload();
      revisions.reload();
    }
    if (e.type === 'open' || e.type === 'tick' || (e.type === 'instances' && e.services.includes(name))) instances.reload();
  });
  const tab = loc.query.get('tab') ?? 'overview';
  const s = service.data;
  if (service.error?.status === 404) {
    return (
      <>
        <h1>{name}</h1>
        <p>
          There is no service named <code>{name}</code> (any more). Back to the <a href="/services">services</a>.
        </p>
      </>
    );
  }
  const tagged = s?.status.traffic.filter((t) => t.tag && t.url) ?? [];
  return (
    <>
      <p class="muted">
        <a href="/services">Services</a> ›
      </p>
      <div class="page-head">
        <h1>{name}</h1>
        {s && <Status state={readyState(s.status.conditions)} />}
        <a class="button primary" href={`/services/${enc(name)}/deploy`}>
          Deploy new revision
        </a>
        <button type="button" class="danger" onClick={() => setDeleting(true)}>
          Delete service
        </button>
      </div>
      <ErrorBox error={service.error} title="Could not read the service" />
      {!s && !service.error && <Loading what="the service" />}
      {s && (
        <dl class="kv">
          <dt>URL</dt>
          <dd>
            <a href={s.status.url} target="_blank" rel="noopener noreferrer" data-testid="service-url">
              {s.status.url}
            </a>
          </dd>
          {tagged.map((t) => (
            <Fragment key={t.tag}>
              <dt>Tag {t.tag}</dt>
              <dd>
                <a href={t.url} target="_blank" rel="noopener noreferrer">
                  {t.url}
                </a>{' '}
                <span class="muted">→ {t.revisionName}</span>
              </dd>
            </Fragment>
          ))}
          <dt>Region</dt>
          <dd>{s.metadata.labels['cloud.googleapis.com/location']}</dd>
          <dt>Last deployed by</dt>
          <dd>
            {s.metadata.annotations['serving.knative.dev/lastModifier'] ?? ''}{' '}
            <span class="muted">(revision {s.status.latestCreatedRevisionName})</span>
          </dd>
        </dl>
      )}
      <Tabs tabs={TABS} current={tab} label="Service views" onSelect={(id) => navigate(withQuery(loc, { tab: id === 'overview' ? undefined : id }), true)} />
      <section role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {s && tab === 'overview' && <Overview service={s} revisions={revisions.data?.items ?? []} instances={instances.data?.items ?? []} onChanged={() => service.reload()} />}
        {tab === 'metrics' && <Metrics name={name} loc={loc} />}
        {tab === 'logs' && <Logs name={name} loc={loc} />}
        {s && tab === 'yaml' && <Yaml service={s} />}
        {s && tab === 'settings' && <Settings service={s} onChanged={() => service.reload()} />}
      </section>
      <Confirm
        open={deleting}
        title={`Delete service ${name}?`}
        body={<p>Its URL stops answering, every instance stops, and its revisions are deleted. Logs and metrics stay until they expire.</p>}
        action="Delete service"
        onCancel={() => setDeleting(false)}
        onConfirm={async () => {
          await api('DELETE', `/api/services/${enc(name)}`);
          setDeleting(false);
          navigate('/services');
        }}
      />
    </>
  );
}
