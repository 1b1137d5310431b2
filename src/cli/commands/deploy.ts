/** `kumo run deploy NAME --source DIR | --image IMAGE [flags]`: upload, apply, watch, print the URL. */
import { resolve } from 'node:path';
import type { Operation } from '../../operations/operation.types.js';
import type { IamPolicy } from '../../serving/control.js';
import { withPublicAccess } from '../../serving/invoker-policy.js';
import type { Service } from '../../serving/service.types.js';
import { packSource } from '../../serving/source.pack.js';
import { KumoError } from '../../shared/errors.js';
import type { Client } from '../client.js';
import { buildDeployInput, parseEnvPairs, parseTimeoutSeconds } from '../deploy-template.js';
import type { DeployFlags } from '../deploy-template.js';
import { bool, intFlag, list, str } from '../flags.js';
import type { FlagSpecs } from '../flags.js';
import { render } from '../output.js';
import type { Ctx } from './context.js';

export const DEPLOY_FLAGS: FlagSpecs = {
  source: { type: 'string', metavar: 'DIR', help: 'deploy this folder (pinned: copied into kumo at deploy time)' },
  image: { type: 'string', metavar: 'IMAGE', help: 'deploy this image from kumo\'s registry (localhost:8080/NAME:TAG)' },
  command: { type: 'list', metavar: 'CMD,...', help: 'entrypoint (comma-separated; empty resets it)' },
  args: { type: 'list', metavar: 'ARG,...', help: 'arguments (comma-separated; empty resets them)' },
  port: { type: 'string', metavar: 'PORT', help: 'port requests are sent to (default 8080)' },
  'set-env-vars': { type: 'list', metavar: 'K=V,...', help: 'replace all environment variables' },
  'update-env-vars': { type: 'list', metavar: 'K=V,...', help: 'set these environment variables, keep the others' },
  'remove-env-vars': { type: 'list', metavar: 'K,...', help: 'remove these environment variables' },
  'clear-env-vars': { type: 'bool', help: 'remove every environment variable' },
  concurrency: { type: 'string', metavar: 'N', help: 'requests per instance at once, 1-1000 (default 80)' },
  timeout: { type: 'string', metavar: 'SECONDS', help: 'request timeout, 1-3600 s (default 300)' },
  'min-instances': { type: 'string', metavar: 'N', help: 'instances kept warm (default 0)' },
  'max-instances': { type: 'string', metavar: 'N', help: 'upper bound on instances, 1-1000 (default 100)' },
  cpu: { type: 'string', metavar: 'CPU', help: 'vCPUs per instance, 0.08-8 (default 1)' },
  memory: { type: 'string', metavar: 'SIZE', help: 'memory per instance, 128Mi-32Gi (default 512Mi)' },
  'allow-unauthenticated': { type: 'bool', help: 'let anyone call the service (--no-allow-unauthenticated makes it private)' },
  'cpu-throttling': { type: 'bool', help: 'CPU only while serving (default); --no-cpu-throttling keeps it always on' },
  runtime: { type: 'string', metavar: 'NAME', help: 'process | runc | docker for this service (default: the server\'s)' },
  network: { type: 'string', metavar: 'MODE', help: "isolated (default) or host (the server must run with --allow-host-network)" },
  'revision-suffix': { type: 'string', metavar: 'SUFFIX', help: 'name the new revision NAME-SUFFIX' },
  tag: { type: 'string', metavar: 'TAG', help: 'give the new revision a URL of its own: TAG---NAME' },
  'no-traffic': { type: 'bool', help: 'do not send traffic to the new revision' },
  'update-labels': { type: 'list', metavar: 'K=V,...', help: 'labels on the service' },
  description: { type: 'string', metavar: 'TEXT', help: 'a description of the service' },
  async: { type: 'bool', help: 'return at once instead of waiting for the deploy' },
  region: { type: 'string', metavar: 'REGION', help: 'region label (any name; default the server\'s)' },
  project: { type: 'string', metavar: 'ID', help: 'must be the server\'s project when given' },
  format: { type: 'string', metavar: 'FORMAT', help: 'json | yaml | table' },
  quiet: { type: 'bool', help: 'no prompts' },
};

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 7).padEnd(5, 'x');
}

export async function getServiceOrUndefined(client: Client, name: string): Promise<Service | undefined> {
  try {
    return await client.call<Service>('GET', `/api/services/${encodeURIComponent(name)}`);
  } catch (err) {
    if (err instanceof KumoError && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
}

/** Print each step as it changes until the operation is done; returns the final state. */
export async function watchOperation(client: Client, op: Operation, out: (t: string) => void, quiet: boolean): Promise<Operation> {
  const shown = new Map<string, string>();
  const show = (o: Operation) => {
    if (quiet) return;
    for (const s of o.steps) {
      const key = `${s.state}|${s.message ?? ''}`;
      if (shown.get(s.id) === key || s.state === 'pending') continue;
      shown.set(s.id, key);
      const mark = s.state === 'done' ? '✓' : s.state === 'failed' ? '✗' : s.state === 'skipped' ? '-' : '…';
      out(`  ${mark} ${s.title}${s.state === 'running' ? '...' : ''}${s.message && s.state !== 'failed' ? ` (${s.message})` : ''}\n`);
    }
  };
  let current = op;
  show(current);
  while (!current.done) {
    current = await client.call<Operation>('GET', `/api/operations/${current.name}?waitMs=10000&since=${encodeURIComponent(current.updateTime)}`);
    show(current);
  }
  return current;
}

export async function deploy(ctx: Ctx): Promise<number> {
  const a = ctx.args;
  const name = a.positionals[0];
  if (!name || a.positionals.length > 1) throw new KumoError('INVALID_ARGUMENT', 'usage: kumo run deploy NAME --source DIR | --image IMAGE [flags]');
  if (str(a, 'source') !== undefined && str(a, 'image') !== undefined) {
    throw new KumoError('INVALID_ARGUMENT', 'give either --source or --image, not both', { field: '--source' });
  }
  const client = ctx.client();
  const config = await client.call<{ project: string; region: string }>('GET', '/api/config');
  const project = str(a, 'project');
  if (project && project !== config.project) {
    throw new KumoError('INVALID_ARGUMENT', `this kumo serves project "${config.project}"; got --project ${project}`, { field: '--project' });
  }
  // A deploy always makes a new revision (and resolves the image tag again), as gcloud's does.
  const flags: DeployFlags = { deployedAt: new Date().toISOString() };
  const cpuThrottling = bool(a, 'cpu-throttling');
  const timeout = str(a, 'timeout');
  const setEnv = list(a, 'set-env-vars');
  const updateEnv = list(a, 'update-env-vars');
  const labels = list(a, 'update-labels');
  Object.assign(flags, {
    ...(str(a, 'image') !== undefined ? { image: str(a, 'image') } : {}),
    ...(list(a, 'command') !== undefined ? { command: list(a, 'command') } : {}),
    ...(list(a, 'args') !== undefined ? { args: list(a, 'args') } : {}),
    ...(str(a, 'port') !== undefined ? { port: intFlag(a, 'port', 1, 65535) } : {}),
    ...(setEnv ? { setEnv: parseEnvPairs(setEnv, 'set-env-vars') } : {}),
    ...(updateEnv ? { updateEnv: parseEnvPairs(updateEnv, 'update-env-vars') } : {}),
    ...(list(a, 'remove-env-vars') ? { removeEnv: list(a, 'remove-env-vars') } : {}),
    ...(bool(a, 'clear-env-vars') ? { clearEnv: true } : {}),
    ...(str(a, 'concurrency') !== undefined ? { concurrency: intFlag(a, 'concurrency', 1, 1000) } : {}),
    ...(timeout !== undefined ? { timeoutSeconds: parseTimeoutSeconds(timeout) } : {}),
    ...(str(a, 'min-instances') !== undefined ? { minInstances: intFlag(a, 'min-instances', 0, 1000) } : {}),
    ...(str(a, 'max-instances') !== undefined ? { maxInstances: intFlag(a, 'max-instances', 1, 1000) } : {}),
    ...(str(a, 'cpu') !== undefined ? { cpu: str(a, 'cpu') } : {}),
    ...(str(a, 'memory') !== undefined ? { memory: str(a, 'memory') } : {}),
    ...(cpuThrottling !== undefined ? { cpuThrottling } : {}),
    ...(str(a, 'runtime') !== undefined ? { runtime: str(a, 'runtime') } : {}),
    ...(str(a, 'network') !== undefined ? { network: str(a, 'network') } : {}),
    ...(bool(a, 'no-traffic') ? { noTraffic: true } : {}),
    ...(str(a, 'tag') !== undefined ? { tag: str(a, 'tag') } : {}),
    ...(labels ? { labels: parseEnvPairs(labels, 'update-labels') } : {}),
    ...(str(a, 'description') !== undefined ? { description: str(a, 'description') } : {}),
  });
  const suffix = str(a, 'revision-suffix');
  if (suffix !== undefined || flags.tag) flags.revisionName = `${name}-${suffix ?? randomSuffix()}`;
  const min = flags.minInstances;
  const max = flags.maxInstances;
  if (min !== undefined && max !== undefined && min > max) {
    throw new KumoError('INVALID_ARGUMENT', `--min-instances (${min}) must not exceed --max-instances (${max})`, { field: '--min-instances' });
  }

  const quiet = ctx.format !== 'table';
  const region = str(a, 'region') ?? config.region;
  if (!quiet) ctx.out(`Deploying ${str(a, 'image') ? `container ${str(a, 'image')}` : 'from source'} to kumo service [${name}] in project [${config.project}] region [${region}]\n`);
  const source = str(a, 'source');
  if (source !== undefined) {
    if (!quiet) ctx.out(`  … Uploading ${resolve(source)}...\n`);
    const up = await client.call<{ digest: string; bytes: number }>('POST', '/api/sources', undefined, { raw: packSource(source), contentType: 'application/gzip' });
    flags.sourceDigest = up.digest;
    if (!quiet) ctx.out(`  ✓ Uploading source (${(up.bytes / 1024).toFixed(1)} KiB, ${up.digest.slice(0, 19)}…)\n`);
  }
  const current = await getServiceOrUndefined(client, name);
  const input = buildDeployInput(name, current, flags);
  const { service, operation } = await client.call<{ service: Service; operation?: Operation }>('PUT', `/api/services/${name}?region=${encodeURIComponent(region)}`, input);
  const allow = bool(a, 'allow-unauthenticated');
  if (allow !== undefined) {
    const policy = await client.call<IamPolicy>('GET', `/api/services/${name}/iam`);
    await client.call('PUT', `/api/services/${name}/iam`, withPublicAccess(policy, allow));
    if (!quiet) ctx.out(`  ✓ Setting access policy (${allow ? 'public: anyone may call it' : 'private: callers need an identity token'})\n`);
  }
  if (!operation) {
    if (!quiet) ctx.out('No change.\n');
    return 0;
  }
  if (bool(a, 'async')) {
    if (quiet) ctx.out(render({ service, operation }, ctx.format === 'yaml' ? 'yaml' : 'json'));
    else ctx.out(`Deploying asynchronously: operation ${operation.name}\n`);
    return 0;
  }
  const done = await watchOperation(client, operation, ctx.out, quiet);
  const final = await client.call<Service>('GET', `/api/services/${name}`);
  if (quiet) {
    ctx.out(render(final, ctx.format === 'yaml' ? 'yaml' : 'json'));
    return done.error ? 1 : 0;
  }
  if (done.error) {
    ctx.err(`ERROR: (kumo.run.deploy) ${done.error.message}\n`);
    if (final.status.latestReadyRevisionName) ctx.err(`Traffic stays on revision ${final.status.latestReadyRevisionName}.\n`);
    return 1;
  }
  const serving = final.status.traffic.find((t) => t.revisionName === final.status.latestReadyRevisionName);
  ctx.out(`Done.\nService [${name}] revision [${final.status.latestReadyRevisionName ?? ''}] has been deployed and is serving ${serving?.percent ?? 0} percent of traffic.\n`);
  for (const t of final.status.traffic) if (t.tag && t.url) ctx.out(`The revision can be reached directly at ${t.url}\n`);
  ctx.out(`Service URL: ${final.status.url ?? ''}\n`);
  return 0;
}
