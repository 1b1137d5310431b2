/**
 * `kumo server` settings from flags and environment. A value that does not parse stops the
 * server with the key and the allowed range; nothing falls back silently.
 */
import { resolve } from 'node:path';
import { parseFlags, str, bool } from '../cli/flags.js';
import type { FlagSpecs } from '../cli/flags.js';
import { parseRange } from '../runtime/network/cidr.js';
import { KumoError } from '../shared/errors.js';
import { parseDurationMs } from '../shared/units.js';

export type RuntimeChoice = 'auto' | 'process' | 'runc' | 'docker';

export interface ServerConfig {
  host: string;
  port: number;
  apiPort: number;
  home: string;
  runtime: RuntimeChoice;
  /** Address range for runc instance networks (two servers on one machine need different ones). */
  networkCidr: string;
  project: string;
  region: string;
  domain: string;
  idleGraceMs: number;
  /** The autoscaler's stable window (panic window is 10 % of it) and decision period. */
  stableWindowMs: number;
  scaleTickMs: number;
  /** Metric resolution and billing flush period. */
  metricsStepMs: number;
  stopGraceMs: number;
  startupTimeoutMs: number;
  queueLimit: number;
  /** Longest wait for a slot at max instances before 429; undefined = the request timeout. */
  maxQueueWaitMs: number | undefined;
  hostMemoryShare: number;
  logRetentionMs: number;
  /** Deploy the folders under examples/ at start. */
  examples: boolean;
  /** Open the Google API port without a token to host processes on loopback (emulator style; never instances). */
  apiOpen: boolean;
  /** Let revisions ask for the host's network (`kumo.dev/network: host`, `kumo run deploy --network host`). */
  allowHostNetwork: boolean;
  /** Let anyone pull from kumo's registry without a token. */
  anonymousPull: boolean;
  /** Serve `/metrics` without a token to processes on this machine (never to instances). */
  metricsOpen: boolean;
}

export const SERVER_FLAGS: FlagSpecs = {
  port: { type: 'string', metavar: 'PORT', help: 'front door port (env KUMO_PORT, default 8080; 0 picks a free one)' },
  'api-port': { type: 'string', metavar: 'PORT', help: "Google API port (env KUMO_API_PORT, default 8085)" },
  host: { type: 'string', metavar: 'ADDR', help: 'address to bind (env KUMO_HOST, default 127.0.0.1; binding beyond loopback is your choice)' },
  home: { type: 'string', metavar: 'DIR', help: 'state directory (env KUMO_HOME, default ./.kumo)' },
  runtime: { type: 'string', metavar: 'NAME', help: 'process | runc | docker | auto (env KUMO_RUNTIME, default auto)' },
  'network-cidr': { type: 'string', metavar: 'CIDR', help: 'address range for runc instance networks (env KUMO_NETWORK_CIDR, default 10.213.0.0/16)' },
  project: { type: 'string', metavar: 'ID', help: 'the project id this kumo serves (env KUMO_PROJECT, default kumo-project)' },
  region: { type: 'string', metavar: 'REGION', help: 'default region (env KUMO_REGION, default us-central1)' },
  domain: { type: 'string', metavar: 'DOMAIN', help: 'services answer at NAME.DOMAIN (default localhost)' },
  'idle-grace': { type: 'string', metavar: 'DURATION', help: 'keep an idle instance this long before scaling it down (default 30s)' },
  'stable-window': { type: 'string', metavar: 'DURATION', help: "the autoscaler's stable window, 6s-1h (default 60s; panic window is 10 % of it)" },
  'scale-tick': { type: 'string', metavar: 'DURATION', help: 'how often the autoscaler decides (default 2s)' },
  'metrics-step': { type: 'string', metavar: 'DURATION', help: 'metric resolution and billing flush period (default 10s)' },
  'stop-grace': { type: 'string', metavar: 'DURATION', help: 'SIGTERM to SIGKILL (default 10s)' },
  'startup-timeout': { type: 'string', metavar: 'DURATION', help: 'how long an instance may take to listen (default 240s)' },
  'queue-limit': { type: 'string', metavar: 'N', help: 'requests that may wait per revision (default 10000)' },
  'max-queue-wait': { type: 'string', metavar: 'DURATION', help: 'answer 429 after this long waiting at max instances (default: the request timeout)' },
  'host-memory-share': { type: 'string', metavar: 'FRACTION', help: "share of this machine's memory instances may claim (default 0.8)" },
  'log-retention': { type: 'string', metavar: 'DURATION', help: 'keep logs this long (default 720h = 30 days)' },
  examples: { type: 'bool', help: 'deploy the examples/ folders at start and print their URLs' },
  'anonymous-pull': { type: 'bool', help: "let the registry serve pulls without a token (off by default)" },
  'api-open': { type: 'bool', help: "let the Google API port answer this machine's own processes without a token (never kumo's instances; off by default)" },
  'allow-host-network': { type: 'bool', help: "let revisions run on the host's network (kumo.dev/network: host; off by default: such an instance reaches everything on this machine)" },
  'metrics-open': { type: 'bool', help: 'serve /metrics without a token to processes on this machine, not to instances (off by default)' },
};

function duration(key: string, raw: string | undefined, dflt: string, minMs: number, maxMs: number): number {
  const text = raw ?? dflt;
  const ms = parseDurationMs(text);
  if (ms === undefined || ms < minMs || ms > maxMs) {
    throw new KumoError('INVALID_ARGUMENT', `--${key} must be a duration from ${minMs} ms to ${maxMs / 1000} s (like 30s, 500ms or 5m); got "${text}"`, { field: `--${key}` });
  }
  return ms;
}

function port(key: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) throw new KumoError('INVALID_ARGUMENT', `--${key} must be a port from 0 to 65535; got "${raw}"`, { field: `--${key}` });
  return n;
}

export function serverConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig {
  const p = parseFlags(argv, SERVER_FLAGS);
  if (p.positionals.length > 0) throw new KumoError('INVALID_ARGUMENT', `kumo server takes no arguments; got "${p.positionals.join(' ')}"`);
  const runtime = (str(p, 'runtime') ?? env.KUMO_RUNTIME ?? 'auto') as RuntimeChoice;
  if (!['auto', 'process', 'runc', 'docker'].includes(runtime)) {
    throw new KumoError('INVALID_ARGUMENT', `--runtime must be process, runc, docker or auto; got "${runtime}"`, { field: '--runtime' });
  }
  const networkCidr = str(p, 'network-cidr') ?? env.KUMO_NETWORK_CIDR ?? '10.213.0.0/16';
  parseRange(networkCidr, '--network-cidr');
  const shareText = str(p, 'host-memory-share') ?? '0.8';
  const share = Number(shareText);
  if (!(share > 0 && share <= 1)) throw new KumoError('INVALID_ARGUMENT', `--host-memory-share must be a fraction above 0 and at most 1; got "${shareText}"`, { field: '--host-memory-share' });
  const queueText = str(p, 'queue-limit') ?? '10000';
  const queueLimit = Number(queueText);
  if (!Number.isInteger(queueLimit) || queueLimit < 0 || queueLimit > 1_000_000) {
    throw new KumoError('INVALID_ARGUMENT', `--queue-limit must be a whole number from 0 to 1000000; got "${queueText}"`, { field: '--queue-limit' });
  }
  const project = str(p, 'project') ?? env.KUMO_PROJECT ?? 'kumo-project';
  if (!/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/.test(project)) {
    throw new KumoError('INVALID_ARGUMENT', `--project must be a Google-style project id (6-30 lowercase letters, digits, hyphens, starting with a letter); got "${project}"`, { field: '--project' });
  }
  const region = str(p, 'region') ?? env.KUMO_REGION ?? 'us-central1';
  if (!/^[a-z][-a-z0-9]{0,62}$/.test(region)) throw new KumoError('INVALID_ARGUMENT', `--region must be lowercase letters, digits and hyphens; got "${region}"`, { field: '--region' });
  const domain = str(p, 'domain') ?? 'localhost';
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(domain)) throw new KumoError('INVALID_ARGUMENT', `--domain must be a DNS name; got "${domain}"`, { field: '--domain' });
  return {
    host: str(p, 'host') ?? env.KUMO_HOST ?? '127.0.0.1',
    port: port('port', str(p, 'port') ?? env.KUMO_PORT, 8080),
    apiPort: port('api-port', str(p, 'api-port') ?? env.KUMO_API_PORT, 8085),
    home: resolve(str(p, 'home') ?? env.KUMO_HOME ?? '.kumo'),
    runtime,
    networkCidr,
    project,
    region,
    domain,
    idleGraceMs: duration('idle-grace', str(p, 'idle-grace'), '30s', 100, 24 * 3600_000),
    stableWindowMs: duration('stable-window', str(p, 'stable-window'), '60s', 1000, 3600_000),
    scaleTickMs: duration('scale-tick', str(p, 'scale-tick'), '2s', 100, 60_000),
    metricsStepMs: duration('metrics-step', str(p, 'metrics-step'), '10s', 1000, 3600_000),
    stopGraceMs: duration('stop-grace', str(p, 'stop-grace'), '10s', 0, 3600_000),
    startupTimeoutMs: duration('startup-timeout', str(p, 'startup-timeout'), '240s', 100, 3600_000),
    queueLimit,
    maxQueueWaitMs: str(p, 'max-queue-wait') === undefined ? undefined : duration('max-queue-wait', str(p, 'max-queue-wait'), '', 1, 3600_000),
    hostMemoryShare: share,
    logRetentionMs: duration('log-retention', str(p, 'log-retention'), '720h', 60_000, 3650 * 24 * 3600_000),
    examples: bool(p, 'examples') ?? false,
    apiOpen: bool(p, 'api-open') ?? false,
    allowHostNetwork: bool(p, 'allow-host-network') ?? false,
    anonymousPull: bool(p, 'anonymous-pull') ?? false,
    metricsOpen: bool(p, 'metrics-open') ?? false,
  };
}
