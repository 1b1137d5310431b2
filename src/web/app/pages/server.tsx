/** This kumo: version, runtime, host memory budget in use, ports, where its state is. */
import type { JSX } from 'preact';
import { ErrorBox, Loading, useData, useLive, useNow } from '../components/ui.js';
import { get } from '../lib/api.js';
import { ago, bytes, percent } from '../lib/format.js';

interface Config {
  version: string;
  project: string;
  region: string;
  url: string;
  runtime: string;
  apiPort: number;
  server?: {
    host: string;
    port: number;
    home: string;
    node: string;
    startTime: string;
    runtimeReason: string;
    memory: { limitBytes: number; usedBytes: number; hostBytes: number; share: number };
    cpus: number;
    metricsStepMs: number;
    metricsOpen: boolean;
  };
}

export function Page(): JSX.Element {
  const now = useNow();
  const c = useData((signal) => get<Config>('/api/config', signal), []);
  useLive((e) => (e.type === 'tick' || e.type === 'instances') && c.reload(), 2000);
  const s = c.data?.server;
  const used = s ? s.memory.usedBytes / Math.max(1, s.memory.limitBytes) : 0;
  return (
    <>
      <h1>Server</h1>
      <ErrorBox error={c.error} title="Could not read the server's settings" />
      {!c.data && !c.error && <Loading what="the server" />}
      {c.data && (
        <dl class="kv">
          <dt>Version</dt>
          <dd>kumo {c.data.version}</dd>
          <dt>Project and region</dt>
          <dd>
            {c.data.project}, {c.data.region}
          </dd>
          <dt>Runtime</dt>
          <dd>
            {c.data.runtime}
            {s && <span class="muted"> — {s.runtimeReason}</span>}
          </dd>
          {s && (
            <>
              <dt>Instance memory budget</dt>
              <dd>
                <div class="meter" role="img" aria-label={`${percent(used)} of the budget in use`}>
                  <span style={{ width: `${used * 100}%` }} />
                </div>
                <span data-testid="memory">
                  {bytes(s.memory.usedBytes)} of {bytes(s.memory.limitBytes)} in use ({percent(s.memory.share)} of this machine's {bytes(s.memory.hostBytes)})
                </span>
              </dd>
              <dt>CPUs</dt>
              <dd>{s.cpus}</dd>
              <dt>Ports</dt>
              <dd>
                front door {s.host}:{s.port} (services, API, registry, this dashboard); Google APIs {s.host}:{c.data.apiPort} (gRPC and REST)
              </dd>
              <dt>Metrics</dt>
              <dd>
                a point every {s.metricsStepMs / 1000} s; <code>/metrics</code> {s.metricsOpen ? 'open to processes on this machine' : 'needs an access token'}
              </dd>
              <dt>State</dt>
              <dd>
                <code>{s.home}</code>
              </dd>
              <dt>Node.js</dt>
              <dd>{s.node}</dd>
              <dt>Started</dt>
              <dd>{ago(s.startTime, now)}</dd>
            </>
          )}
        </dl>
      )}
    </>
  );
}
