/** The service's settings as deployed; min and max instances, and public or private access. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { buildDeployInput } from '../../../cli/deploy-template.js';
import type { IamPolicy } from '../../../serving/control.js';
import { isPublic, withPublicAccess } from '../../../serving/invoker-policy.js';
import type { Service } from '../../../serving/service.types.js';
import { ErrorBox, useData } from '../components/ui.js';
import { api, enc, get } from '../lib/api.js';
import type { ApiError } from '../lib/api.js';

function Access({ name }: { name: string }): JSX.Element {
  const policy = useData((signal) => get<IamPolicy>(`/api/services/${enc(name)}/iam`, signal), [name]);
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const pub = policy.data ? isPublic(policy.data) : undefined;
  const toggle = async () => {
    if (!policy.data) return;
    setBusy(true);
    setError(undefined);
    try {
      await api('PUT', `/api/services/${enc(name)}/iam`, withPublicAccess(policy.data, !pub));
      policy.reload();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="access-title">
      <h2 id="access-title">Access</h2>
      <ErrorBox error={policy.error ?? error} title="Access" />
      {pub !== undefined && (
        <p>
          <span data-testid="access">{pub ? 'Public: anyone may call it.' : 'Private: callers need an identity token for its URL.'}</span>{' '}
          <button type="button" disabled={busy} onClick={() => void toggle()}>
            {pub ? 'Make private' : 'Make public'}
          </button>
        </p>
      )}
    </section>
  );
}

function Scaling({ service, onChanged }: { service: Service; onChanged: () => void }): JSX.Element {
  const ann = service.spec.template.metadata.annotations ?? {};
  const [min, setMin] = useState(ann['autoscaling.knative.dev/minScale'] ?? ann['autoscaling.knative.dev/min-scale'] ?? '0');
  const [max, setMax] = useState(ann['autoscaling.knative.dev/maxScale'] ?? ann['autoscaling.knative.dev/max-scale'] ?? '100');
  const [error, setError] = useState<Error>();
  const [done, setDone] = useState('');
  const save = async () => {
    setError(undefined);
    setDone('');
    try {
      const input = buildDeployInput(service.metadata.name, service, { minInstances: Number(min), maxInstances: Number(max) });
      await api('PUT', `/api/services/${enc(service.metadata.name)}`, input);
      setDone('Saved: a new revision with these limits is being deployed.');
      onChanged();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <form
      aria-labelledby="scaling-title"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <h2 id="scaling-title">Scaling</h2>
      <div class="form">
        <label for="min-instances">Min instances</label>
        <input id="min-instances" type="number" min={0} max={1000} value={min} onInput={(e) => setMin(e.currentTarget.value)} />
        <label for="max-instances">Max instances</label>
        <input id="max-instances" type="number" min={1} max={1000} value={max} onInput={(e) => setMax(e.currentTarget.value)} />
      </div>
      <ErrorBox error={error} title="Not saved" />
      <div class="actions" style={{ justifyContent: 'flex-start' }}>
        <button type="submit" class="primary">
          Save scaling
        </button>
        <span role="status" class="muted">
          {done}
        </span>
      </div>
    </form>
  );
}

export function Settings({ service, onChanged }: { service: Service; onChanged: () => void }): JSX.Element {
  const t = service.spec.template;
  const c = t.spec.containers[0] ?? {};
  const ann = t.metadata.annotations ?? {};
  return (
    <>
      <h2>Container</h2>
      <dl class="kv">
        <dt>{c.image ? 'Image' : 'Source'}</dt>
        <dd>
          <code>{c.image ?? ann['kumo.dev/source'] ?? ''}</code>
        </dd>
        {c.command && (
          <>
            <dt>Command</dt>
            <dd>
              <code>{c.command.join(' ')}</code>
            </dd>
          </>
        )}
        {c.args && (
          <>
            <dt>Arguments</dt>
            <dd>
              <code>{c.args.join(' ')}</code>
            </dd>
          </>
        )}
        <dt>Port</dt>
        <dd>{c.ports?.[0]?.containerPort ?? 8080}</dd>
        <dt>CPU</dt>
        <dd>{c.resources?.limits?.cpu ?? '1'}</dd>
        <dt>Memory</dt>
        <dd>{c.resources?.limits?.memory ?? '512Mi'}</dd>
        <dt>Concurrency</dt>
        <dd>{t.spec.containerConcurrency ?? 80}</dd>
        <dt>Request timeout</dt>
        <dd>{t.spec.timeoutSeconds ?? 300} s</dd>
        <dt>CPU allocation</dt>
        <dd>{ann['run.googleapis.com/cpu-throttling'] === 'false' ? 'always (instance-based billing)' : 'only while serving requests (request-based billing)'}</dd>
        <dt>Service account</dt>
        <dd>{t.spec.serviceAccountName ?? 'default'}</dd>
        <dt>Environment</dt>
        <dd>
          {(c.env ?? []).length === 0
            ? 'none'
            : (c.env ?? []).map((e) => (
                <div key={e.name}>
                  <code>
                    {e.name}={e.value}
                  </code>
                </div>
              ))}
        </dd>
      </dl>
      <Scaling service={service} onChanged={onChanged} />
      <Access name={service.metadata.name} />
    </>
  );
}
