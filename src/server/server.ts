/**
 * The composition root of `kumo server`: reads config, builds every room with plain
 * constructors, starts them, and stops them cleanly (every instance it started) on SIGINT/SIGTERM.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { createApi } from '../api/api.js';
import { addTelemetryRoutes } from '../api/telemetry.routes.js';
import { createGoogleApi } from '../googleapi/index.js';
import { addImageRoutes } from '../api/images.routes.js';
import { createRegistry } from '../registry/index.js';
import type { PinnedImage } from '../registry/index.js';
import type { ResolvedImage } from '../runtime/runtime.js';
import { sendApiError } from '../api/http.js';
import { ACCESS_AUDIENCE, loadOrCreateKeys, verifyToken } from '../auth/tokens.js';
import type { SigningKeys } from '../auth/tokens.js';
import { LogStore } from '../observability/logs/log.store.js';
import { ProcessRuntime } from '../runtime/process/index.js';
import type { Runtime, RuntimeKind } from '../runtime/runtime.js';
import { Dispatchers } from '../serving/dispatcher/dispatchers.js';
import { HostBudget } from '../serving/dispatcher/host-budget.js';
import { RouteTable } from '../serving/route-table.js';
import { FrontDoor } from '../serving/router/front-door.js';
import { InvokerCheck } from '../serving/router/invoker.js';
import { ServingController } from '../serving/serving.controller.js';
import { ServingStore } from '../serving/serving.store.js';
import { SourceStore } from '../serving/source.store.js';
import { systemClock } from '../shared/clock.js';
import { invalidArgument, KumoError } from '../shared/errors.js';
import { CLOUD_RUN_SCALING_DEFAULTS, validateServerScalingDefaults } from '../serving/autoscaler/index.js';
import { PROMETHEUS_CONTENT_TYPE } from '../observability/metrics/index.js';
import { Telemetry } from './telemetry.js';
import { openDatabase } from '../store/database.js';
import type { Database } from '../store/database.js';
import type { ServerConfig } from './config.js';
import { deployExamples } from './examples.js';

export const VERSION = '0.1.0';

/** Uniform in [0, 1) from the crypto source (traffic split, name suffixes). */
const random = () => randomInt(0, 2 ** 47) / 2 ** 47;

/** Images that revisions run: the registry never collects or deletes them. */
function pinnedImages(store: ServingStore): PinnedImage[] {
  const out: PinnedImage[] = [];
  for (const r of store.listRevisions()) {
    const pinned = r.status.imageDigest;
    const at = pinned?.lastIndexOf('@') ?? -1;
    if (pinned && at > 0) out.push({ repository: pinned.slice(0, at), digest: pinned.slice(at + 1) });
  }
  return out;
}

export interface RunningServer {
  url: string;
  port: number;
  apiPort: number;
  stop(): Promise<void>;
}

async function chooseRuntimes(cfg: ServerConfig, home: string): Promise<{ runtimes: Partial<Record<RuntimeKind, Runtime>>; defaultKind: RuntimeKind; note: string }> {
  const proc = new ProcessRuntime({ stateDir: join(home, 'run', 'process') });
  const runtimes: Partial<Record<RuntimeKind, Runtime>> = { process: proc };
  if (cfg.runtime === 'runc' || cfg.runtime === 'docker') {
    throw new KumoError('FAILED_PRECONDITION', `the ${cfg.runtime} runtime is not built into this kumo yet; use --runtime process`, { field: '--runtime' });
  }
  return { runtimes, defaultKind: 'process', note: `runtime: process — ${proc.isolation}` };
}

export async function startServer(cfg: ServerConfig, log: (line: string) => void = (l) => console.log(l)): Promise<RunningServer> {
  mkdirSync(cfg.home, { recursive: true });
  const clock = systemClock;
  const db: Database = openDatabase(join(cfg.home, 'kumo.db'));
  const keys: SigningKeys = loadOrCreateKeys(join(cfg.home, 'keys'));
  const { runtimes, defaultKind, note } = await chooseRuntimes(cfg, cfg.home);

  // What a crashed server left behind: no adoption yet, so remove it.
  let orphans = 0;
  for (const rt of Object.values(runtimes)) {
    for (const i of await rt.list()) {
      await rt.remove(i.instanceId);
      orphans++;
    }
  }
  if (orphans > 0) log(`kumo: removed ${orphans} instance(s) left behind by an earlier server`);

  const logs = new LogStore({ db, clock, retentionMs: cfg.logRetentionMs });
  const sources = new SourceStore(cfg.home);
  const store = new ServingStore(db);
  const resolvedImages = new Map<string, ResolvedImage>();
  const budget = new HostBudget(Math.floor(totalmem() * cfg.hostMemoryShare));
  const telemetry = new Telemetry({ db, clock, logs, budget, project: cfg.project, stepMs: cfg.metricsStepMs, requestLogFlushMs: 250, hostCpus: cpus().length });
  const scaling = { ...CLOUD_RUN_SCALING_DEFAULTS, idleGraceMs: cfg.idleGraceMs, stableWindowMs: cfg.stableWindowMs, tickMs: cfg.scaleTickMs };
  const scalingProblems = validateServerScalingDefaults(scaling);
  if (scalingProblems.length > 0) throw invalidArgument(scalingProblems);
  const dispatchers = new Dispatchers({
    clock,
    budget,
    runtimes,
    defaultRuntime: defaultKind,
    scaling,
    observeMs: 1000,
    stopGraceMs: cfg.stopGraceMs,
    startupTimeoutMs: cfg.startupTimeoutMs,
    queueLimit: cfg.queueLimit,
    logs,
    project: cfg.project,
    region: cfg.region,
    random,
    baseEnv: { GOOGLE_CLOUD_PROJECT: cfg.project },
    observerFor: (service, revision, settings) => telemetry.observerFor(service, revision, settings),
    workloadFor: async (rev, settings) => {
      if (settings.sourceDigest) return { kind: 'source', dir: sources.dirFor(settings.sourceDigest) };
      const pinned = rev.status.imageDigest ?? settings.image ?? '';
      let image = resolvedImages.get(pinned);
      if (!image) {
        image = await registry.resolveImage(pinned);
        resolvedImages.set(pinned, image);
      }
      return { kind: 'image', image };
    },
  });

  let port = cfg.port;
  const urlBase = { port, domain: cfg.domain };
  const registry = createRegistry({
    home: cfg.home,
    db,
    clock,
    authenticate: (t) => {
      const c = verifyToken(keys.publicKey, t, { aud: ACCESS_AUDIENCE, typ: 'access', nowMs: clock.now() });
      return { sub: c.sub, expiresAtMs: c.exp * 1000 };
    },
    anonymousPull: cfg.anonymousPull,
    realm: (req) => `http://${req.headers.host ?? `localhost:${port}`}/v2/token`,
    pinned: () => pinnedImages(store),
    // Read when a message names it: with --port 0 the port is known only after listening.
    publicHost: () => `localhost:${port}`,
  });
  const routes = new RouteTable(urlBase);
  const control = new ServingController({
    store,
    dispatchers,
    routes,
    clock,
    project: cfg.project,
    region: cfg.region,
    urlBase,
    random,
    hasSource: (d) => sources.has(d),
    resolveImage: (ref) => registry.resolveImage(ref),
  });
  const authenticate = (token: string) => verifyToken(keys.publicKey, token, { aud: ACCESS_AUDIENCE, typ: 'access', nowMs: clock.now() });
  const api = createApi({
    control,
    sources,
    logs,
    dispatchers,
    authenticate,
    now: () => clock.now(),
    extend: (routes) => {
      addTelemetryRoutes(routes, {
        metrics: telemetry.metricsStore,
        billing: telemetry.billing,
        now: () => clock.now(),
        requireService: (name) => void control.getService(name),
      });
      addImageRoutes(routes, { registry, revisions: () => store.listRevisions() });
    },
    info: () => ({ version: VERSION, project: cfg.project, region: cfg.region, url: `http://localhost:${port}`, domain: cfg.domain, runtime: defaultKind, apiPort }),
  });
  const controlHandler = (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    if (path.startsWith('/api/')) return api(req, res);
    if (path === '/v2' || path.startsWith('/v2/')) return registry.handle(req, res);
    if (path === '/metrics') {
      const text = telemetry.prometheus();
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    if (path === '/' || path === '/index.html') {
      const names = routes.names();
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`kumo ${VERSION}\n\n${names.length === 0 ? 'No services yet: kumo run deploy NAME --source DIR\n' : names.map((n) => `${n}  ${routes.get(n)?.url ?? ''}`).join('\n') + '\n'}`);
      return;
    }
    sendApiError(res, new KumoError('NOT_FOUND', `nothing at ${path} on kumo itself; services answer at http://NAME.${cfg.domain}:${port}`));
  };
  const front = new FrontDoor({
    host: cfg.host,
    port: cfg.port,
    domain: cfg.domain,
    routes,
    dispatchers,
    invoker: new InvokerCheck(keys.publicKey, () => clock.now()),
    now: () => clock.now(),
    random,
    control: controlHandler,
    events: telemetry,
    traceIds: telemetry.ids,
    ...(cfg.maxQueueWaitMs !== undefined ? { maxQueueWaitMs: cfg.maxQueueWaitMs } : {}),
  });
  telemetry.watch(dispatchers);
  port = await front.listen();
  urlBase.port = port;
  const googleApi = createGoogleApi({
    host: cfg.host,
    port: cfg.apiPort,
    control,
    openOnLoopback: cfg.apiOpen,
    log,
    authenticate: (t) => {
      const c = authenticate(t);
      return { subject: c.sub, ...(c.email ? { email: c.email } : {}) };
    },
  });
  let apiPort: number;
  try {
    apiPort = (await googleApi.listen()).port;
  } catch (err) {
    await front.close();
    throw new KumoError('UNAVAILABLE', `cannot listen on the Google API port ${cfg.apiPort} (${(err as Error).message}); pick another with --api-port`, { field: '--api-port' });
  }

  control.start();
  const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  writeFileSync(join(cfg.home, 'server.json'), JSON.stringify({ pid: process.pid, url, port, apiPort, project: cfg.project }));
  log(`kumo ${VERSION} listening on ${url} (home ${cfg.home})`);
  log(`kumo: Google APIs (Cloud Run Admin v1/v2, operations) on ${cfg.host}:${apiPort}, gRPC and REST`);
  log(`kumo: ${note}`);
  if (cfg.host !== '127.0.0.1' && cfg.host !== 'localhost' && cfg.host !== '::1') {
    log(`kumo: WARNING: bound to ${cfg.host}, beyond loopback: services that allow unauthenticated calls are reachable from the network`);
  }

  if (cfg.examples) {
    await deployExamples({ control, sources, log, urlFor: (n) => `http://${n}.${cfg.domain}:${port}` });
  }

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await front.close();
      await googleApi.close();
      await dispatchers.closeAll();
      await control.settled();
      await registry.close();
      telemetry.close();
      logs.close();
      db.close();
      rmSync(join(cfg.home, 'server.json'), { force: true });
    })();
    return stopping;
  };
  return { url, port, apiPort, stop };
}
