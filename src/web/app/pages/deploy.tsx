/** Deploy a revision from an image in kumo's registry, and watch the deploy's steps as they happen. */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { buildDeployInput, parseEnvPairs } from '../../../cli/deploy-template.js';
import type { DeployFlags } from '../../../cli/deploy-template.js';
import type { Operation } from '../../../operations/operation.types.js';
import type { IamPolicy } from '../../../serving/control.js';
import { withPublicAccess } from '../../../serving/invoker-policy.js';
import type { Service } from '../../../serving/service.types.js';
import { ErrorBox, useData } from '../components/ui.js';
import { api, ApiError, enc, get } from '../lib/api.js';

interface ImageList {
  items: { repository: string; tags: string[] }[];
}

const MARK: Record<string, string> = { done: '✓', failed: '✕', skipped: '–', running: '…', pending: '·' };

async function current(name: string): Promise<Service | undefined> {
  try {
    return await get<Service>(`/api/services/${enc(name)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

function Progress({ op }: { op: Operation }): JSX.Element {
  return (
    <section aria-labelledby="progress-title">
      <h2 id="progress-title">{op.done ? (op.error ? 'Deploy failed' : 'Deployed') : 'Deploying…'}</h2>
      <ol class="steps" aria-live="polite">
        {op.steps
          .filter((s) => s.state !== 'pending')
          .map((s) => (
            <li key={s.id} data-step={s.id} data-state={s.state}>
              <span aria-hidden="true">{MARK[s.state]}</span> {s.title}
              <span class="visually-hidden"> ({s.state})</span>
              {s.message && <span class="muted"> — {s.message}</span>}
            </li>
          ))}
      </ol>
      {op.error && <ErrorBox error={new Error(op.error.message)} title="The revision did not start" />}
    </section>
  );
}

export function DeployPage({ service }: { service: string | undefined }): JSX.Element {
  const config = useData((signal) => get<{ url: string; region: string }>('/api/config', signal), []);
  const images = useData((signal) => get<ImageList>('/api/images', signal), []);
  const existing = useData(() => (service ? current(service) : Promise.resolve(undefined)), [service]);
  const c = existing.data?.spec.template.spec.containers[0];
  const ann = existing.data?.spec.template.metadata.annotations ?? {};
  const [name, setName] = useState(service ?? '');
  const [image, setImage] = useState('');
  const [env, setEnv] = useState('');
  const [concurrency, setConcurrency] = useState('80');
  const [minI, setMin] = useState('0');
  const [maxI, setMax] = useState('100');
  const [cpu, setCpu] = useState('1');
  const [memory, setMemory] = useState('512Mi');
  const [allow, setAllow] = useState(false);
  const [error, setError] = useState<Error>();
  const [op, setOp] = useState<Operation>();
  const [busy, setBusy] = useState(false);

  // An existing service's settings are the starting point, as `kumo run deploy` keeps them.
  useEffect(() => {
    if (!existing.data) return;
    setImage(c?.image ?? '');
    setEnv((c?.env ?? []).map((e) => `${e.name}=${e.value}`).join('\n'));
    setConcurrency(String(existing.data.spec.template.spec.containerConcurrency ?? 80));
    setMin(ann['autoscaling.knative.dev/minScale'] ?? '0');
    setMax(ann['autoscaling.knative.dev/maxScale'] ?? '100');
    setCpu(c?.resources?.limits?.cpu ?? '1');
    setMemory(c?.resources?.limits?.memory ?? '512Mi');
  }, [existing.data]);

  const registryHost = config.data ? new URL(config.data.url).host : '';
  const refs = (images.data?.items ?? []).flatMap((i) => i.tags.map((t) => `${registryHost}/${i.repository}:${t}`));

  const deploy = async () => {
    setError(undefined);
    setBusy(true);
    try {
      const now = await current(name);
      const lines = env.split('\n').map((l) => l.trim()).filter(Boolean);
      const flags: DeployFlags = {
        deployedAt: new Date().toISOString(),
        image: image.trim(),
        setEnv: parseEnvPairs(lines, 'env'),
        concurrency: Number(concurrency),
        minInstances: Number(minI),
        maxInstances: Number(maxI),
        cpu: cpu.trim(),
        memory: memory.trim(),
      };
      const input = buildDeployInput(name.trim(), now, flags);
      const region = config.data?.region ?? '';
      const out = await api<{ service: Service; operation?: Operation }>('PUT', `/api/services/${enc(name.trim())}?region=${enc(region)}`, input);
      if (!now && allow) {
        const policy = await get<IamPolicy>(`/api/services/${enc(name.trim())}/iam`);
        await api('PUT', `/api/services/${enc(name.trim())}/iam`, withPublicAccess(policy, true));
      }
      let o = out.operation;
      if (!o) {
        setError(new Error('Nothing changed, so no new revision was made.'));
        return;
      }
      setOp(o);
      while (!o.done) {
        o = await get<Operation>(`/api/operations/${o.name}?waitMs=10000&since=${enc(o.updateTime)}`);
        setOp(o);
      }
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <p class="muted">
        <a href="/services">Services</a> ›{service && <a href={`/services/${enc(service)}`}> {service}</a>}
      </p>
      <h1>{service ? `Deploy a new revision of ${service}` : 'Deploy a service'}</h1>
      <p class="muted">
        From an image in kumo's registry (<code>docker push {registryHost || 'localhost:8080'}/NAME:TAG</code>). To deploy a folder, use <code>kumo run deploy NAME --source DIR</code>.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void deploy();
        }}
      >
        <div class="form">
          <label for="d-name">Service name</label>
          <input id="d-name" required pattern="[a-z]([a-z0-9\-]{0,47}[a-z0-9])?" value={name} readOnly={Boolean(service)} onInput={(e) => setName(e.currentTarget.value)} />
          <label for="d-image">Image</label>
          <input id="d-image" required list="d-images" value={image} placeholder={`${registryHost}/hello:latest`} onInput={(e) => setImage(e.currentTarget.value)} />
          <datalist id="d-images">
            {refs.map((r) => (
              <option key={r} value={r} />
            ))}
          </datalist>
          <label for="d-env">Environment variables</label>
          <textarea id="d-env" rows={3} value={env} placeholder="KEY=value, one per line" onInput={(e) => setEnv(e.currentTarget.value)} />
          <label for="d-concurrency">Concurrency</label>
          <input id="d-concurrency" type="number" min={1} max={1000} value={concurrency} onInput={(e) => setConcurrency(e.currentTarget.value)} />
          <label for="d-min">Min instances</label>
          <input id="d-min" type="number" min={0} max={1000} value={minI} onInput={(e) => setMin(e.currentTarget.value)} />
          <label for="d-max">Max instances</label>
          <input id="d-max" type="number" min={1} max={1000} value={maxI} onInput={(e) => setMax(e.currentTarget.value)} />
          <label for="d-cpu">CPU</label>
          <input id="d-cpu" value={cpu} onInput={(e) => setCpu(e.currentTarget.value)} />
          <p class="hint">vCPUs per instance, 0.08 to 8 (1, 2, 0.5, 500m)</p>
          <label for="d-memory">Memory</label>
          <input id="d-memory" value={memory} onInput={(e) => setMemory(e.currentTarget.value)} />
          <p class="hint">per instance, 128Mi to 32Gi</p>
          {!service && (
            <>
              <span />
              <label>
                <input type="checkbox" checked={allow} onChange={(e) => setAllow(e.currentTarget.checked)} /> Allow unauthenticated calls (public)
              </label>
            </>
          )}
        </div>
        <ErrorBox error={error ?? existing.error} title="Not deployed" />
        <div class="actions" style={{ justifyContent: 'flex-start' }}>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Deploying…' : 'Deploy'}
          </button>
        </div>
      </form>
      {op && <Progress op={op} />}
      {op?.done && !op.error && (
        <p>
          <a class="button" href={`/services/${enc(name.trim())}`}>
            Open {name.trim()}
          </a>
        </p>
      )}
    </>
  );
}
