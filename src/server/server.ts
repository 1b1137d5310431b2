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
import { sendApiError } from '../api/http.js';
import { addEventRoutes } from '../api/events.routes.js';
import { addImageRoutes } from '../api/images.routes.js';
import { addTelemetryRoutes } from '../api/telemetry.routes.js';
import { ACCESS_AUDIENCE, loadOrCreateKeys, mintToken, verifyToken } from '../auth/tokens.js';
import type { SigningKeys } from '../auth/tokens.js';
import { cachedVerifier } from '../auth/token-cache.js';
import { createGoogleApi } from '../googleapi/index.js';
import { LogStore } from '../observability/logs/log.store.js';
import { createRegistry } from '../registry/index.js';
import type { PinnedImage, Registry } from '../registry/index.js';
import { OriginResolver } from '../runtime/origin.js';
import { ProcessRuntime } from '../runtime/process/index.js';
import type { InstanceSpec, ResolvedImage } from '../runtime/runtime.js';
import { CLOUD_RUN_SCALING_DEFAULTS, validateServerScalingDefaults } from '../serving/autoscaler/index.js';
import { Dispatchers } from '../serving/dispatcher/dispatchers.js';
import { HostBudget } from '../serving/dispatcher/host-budget.js';
import { RouteTable } from '../serving/route-table.js';
import { FrontDoor } from '../serving/router/front-door.js';
import { InvokerCheck } from '../serving/router/invoker.js';
import { ServingController } from '../serving/serving.controller.js';
import { ServingStore } from '../serving/serving.store.js';
import { SourceStore } from '../serving/source.store.js';
import { BodyBudget } from '../shared/body-budget.js';
import { systemClock } from '../shared/clock.js';
import { invalidArgument, KumoError } from '../shared/errors.js';
import { openDatabase } from '../store/database.js';
import { createDashboard } from '../web/index.js';
import type { Database } from '../store/database.js';
import type { ServerConfig } from './config.js';
import { deployExamples } from './examples.js';
import { kumoEndpoints } from './kumo-endpoints.js';
import { observeAll, revisionHealthObserver } from './revision-health.js';
import { containerRuntime } from './runtimes.js';
import { Telemetry } from './telemetry.js';

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

export async function startServer(cfg: ServerConfig, log: (line: string) => void = (l) => console.log(l)): Promise<RunningServer> {
  mkdirSync(cfg.home, { recursive: true });
  const clock = systemClock;
  const startedAt = clock.now();
  const now = () => clock.now();

  // Phase 1: state and the rooms that need nothing but state.
  const db: Database = openDatabase(join(cfg.home, 'kumo.db'));
  const keys: SigningKeys = loadOrCreateKeys(join(cfg.home, 'keys'));
  const authenticate = cachedVerifier((token) => verifyToken(keys.publicKey, token, { aud: ACCESS_AUDIENCE, typ: 'access', nowMs: now() }), now);
  const logs = new LogStore({ db, clock, retentionMs: cfg.logRetentionMs, writer: { kind: 'thread', file: join(cfg.home, 'kumo.db') } });
  const sources = new SourceStore(cfg.home);
  const store = new ServingStore(db);
  const budget = new HostBudget(Math.floor(totalmem() * cfg.hostMemoryShare));
  const telemetry = new Telemetry({ db, clock, logs, budget, project: cfg.project, stepMs: cfg.metricsStepMs, hostCpus: cpus().length });
  const scaling = { ...CLOUD_RUN_SCALING_DEFAULTS, idleGraceMs: cfg.idleGraceMs, stableWindowMs: cfg.stableWindowMs, tickMs: cfg.scaleTickMs };
  const scalingProblems = validateServerScalingDefaults(scaling);
  if (scalingProblems.length > 0) throw invalidArgument(scalingProblems);

  // Phase 2: serving. Container runtimes join in phase 4, once the ports are known.
  let port = cfg.port;
  let apiPort = cfg.apiPort;
  let registry: Registry | undefined;
  const useRegistry = (): Registry => {
    if (!registry) throw new KumoError('UNAVAILABLE', 'kumo is still starting; try again in a moment', { retryAfterSec: 1 });
    return registry;
  };
  // Only references by digest are cached: a tag may be pushed again, and a new revision must see it.
  const resolvedImages = new Map<string, ResolvedImage>();
  const resolveImage = async (ref: string) => {
    let image = resolvedImages.get(ref);
    if (!image) {
      image = await useRegistry().resolveImage(ref);
      if (ref.includes('@')) resolvedImages.set(ref, image);
    }
    return image;
  };
  const processRuntime = new ProcessRuntime({ stateDir: join(cfg.home, 'run', 'process') });
  // Who is calling, from the connection: the runtimes say which instance an address or a process is.
  const origins = new OriginResolver();
  origins.add(processRuntime);
  // Every request body held in memory at once, on both ports together.
  const bodyBudget = new BodyBudget();
  const dispatchers: Dispatchers = new Dispatchers({
    clock,
    budget,
    runtimes: { process: processRuntime },
    defaultRuntime: 'process',
    scaling,
    allowHostNetwork: cfg.allowHostNetwork,
    observeMs: 1000,
    stopGraceMs: cfg.stopGraceMs,
    startupTimeoutMs: cfg.startupTimeoutMs,
    queueLimit: cfg.queueLimit,
    logs,
    project: cfg.project,
    region: cfg.region,
    random,
    baseEnv: { GOOGLE_CLOUD_PROJECT: cfg.project },
    observerFor: (service, revision, settings) => observeAll(telemetry.observerFor(service, revision, settings), revisionHealthObserver(store, revision, now)),
    workloadFor: async (rev, settings): Promise<InstanceSpec['workload']> => {
      if (settings.sourceDigest) return { kind: 'source', dir: sources.dirFor(settings.sourceDigest) };
      const image = await resolveImage(rev.status.imageDigest ?? settings.image ?? '');
      await dispatchers.runtimeFor(settings).runtime.prepareImage?.(image);
      return { kind: 'image', image };
    },
  });
  telemetry.watch(dispatchers);
  const urlBase = { port, domain: cfg.domain };
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
    resolveImage,
    allowHostNetwork: cfg.allowHostNetwork,
  });

  // Phase 3: the two ports. Until phase 5 ends, kumo's own endpoints answer 503.
  let ready = false;
  let endpoints: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const front = new FrontDoor({
    host: cfg.host,
    port: cfg.port,
    domain: cfg.domain,
    routes,
    dispatchers,
    invoker: new InvokerCheck(keys.publicKey, now),
    now,
    random,
    control: (req, res) => (ready && endpoints ? endpoints(req, res) : sendApiError(res, new KumoError('UNAVAILABLE', 'kumo is still starting; try again in a moment', { retryAfterSec: 1 }))),
    events: telemetry,
    traceIds: telemetry.ids,
    origins,
    ...(cfg.maxQueueWaitMs !== undefined ? { maxQueueWaitMs: cfg.maxQueueWaitMs } : {}),
  });
  port = await front.listen();
  urlBase.port = port;
  const googleApi = createGoogleApi({
    host: cfg.host,
    port: cfg.apiPort,
    control,
    openOnLoopback: cfg.apiOpen,
    origins,
    bodyBudget,
    log,
    authenticate: (t) => {
      const c = authenticate(t);
      return { subject: c.sub, ...(c.email ? { email: c.email } : {}) };
    },
  });
  try {
    apiPort = (await googleApi.listen()).port;
  } catch (err) {
    await front.close();
    throw new KumoError('UNAVAILABLE', `cannot listen on the Google API port ${cfg.apiPort} (${(err as Error).message}); pick another with --api-port`, { field: '--api-port' });
  }

  // Phase 4: the registry (its messages name the port) and the container runtime (it needs both ports).
  registry = createRegistry({
    home: cfg.home,
    db,
    clock,
    authenticate: (t) => {
      const c = authenticate(t);
      return { sub: c.sub, expiresAtMs: c.exp * 1000 };
    },
    anonymousPull: cfg.anonymousPull,
    realm: (req) => `http://${req.headers.host ?? `localhost:${port}`}/v2/token`,
    pinned: () => pinnedImages(store),
    // Read when a message names it.
    publicHost: () => `localhost:${port}`,
  });
  const container = await containerRuntime({
    requested: cfg.runtime,
    networkCidr: cfg.networkCidr,
    home: cfg.home,
    project: cfg.project,
    imageSource: registry.imageSource,
    routerPort: port,
    apiPort,
    // Instances' connections to the gateway, handed over in-process with their own address as peer.
    accept: { router: (s) => front.accept(s), api: (s) => googleApi.accept(s) },
    hosts: () => routes.hostNames(),
    registryToken: () => mintToken(keys, { sub: 'admin', aud: ACCESS_AUDIENCE, typ: 'access', nowMs: now(), ttlSec: 600 }),
    log,
  });
  if (container.runtime) {
    dispatchers.useRuntime(container.kind, container.runtime, true);
    origins.add(container.runtime);
    const rt = container.runtime;
    routes.onChange(() => rt.refreshHosts?.());
  }
  // What a crashed server left behind: removed, not adopted.
  let orphans = 0;
  for (const rt of [processRuntime, ...(container.runtime ? [container.runtime] : [])]) {
    for (const i of await rt.list()) {
      await rt.remove(i.instanceId);
      orphans++;
    }
  }
  if (orphans > 0) log(`kumo: removed ${orphans} instance(s) left behind by an earlier server`);

  // Phase 5: kumo's own API and endpoints; resume the control plane.
  const reg = registry;
  const web = createDashboard({ now, port: () => port });
  const api = createApi({
    control,
    sources,
    logs,
    dispatchers,
    authenticate,
    session: (req) => web.apiAccess(req),
    now,
    bodyBudget,
    extend: (r) => {
      addTelemetryRoutes(r, { metrics: telemetry.metricsStore, billing: telemetry.billing, now, requireService: (name) => void control.getService(name), instances: () => dispatchers.instanceCounts() });
      addImageRoutes(r, { registry: reg, revisions: () => store.listRevisions() });
      addEventRoutes(r, { onServingWrite: (fn) => store.onWrite(fn), onTelemetry: (fn) => telemetry.onEvent(fn) });
      web.addRoutes(r);
    },
    info: () => ({
      version: VERSION,
      project: cfg.project,
      region: cfg.region,
      url: `http://localhost:${port}`,
      domain: cfg.domain,
      runtime: dispatchers.defaultRuntime,
      apiPort,
      // The server page of the dashboard.
      server: {
        host: cfg.host,
        port,
        home: cfg.home,
        node: process.version,
        startTime: new Date(startedAt).toISOString(),
        runtimeReason: container.reason,
        memory: { limitBytes: budget.limitBytes, usedBytes: budget.used, hostBytes: totalmem(), share: cfg.hostMemoryShare },
        cpus: cpus().length,
        metricsStepMs: cfg.metricsStepMs,
        metricsOpen: cfg.metricsOpen,
      },
    }),
  });
  endpoints = kumoEndpoints({
    api,
    registry: (req, res) => reg.handle(req, res),
    web: (req, res) => web.handle(req, res),
    prometheus: () => telemetry.prometheus(),
    authenticate: (t) => void authenticate(t),
    metricsOpen: cfg.metricsOpen,
    hostPeer: async (req) => (await front.originOf(req.socket)).kind === 'host',
  });
  ready = true;
  control.start();

  const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  writeFileSync(join(cfg.home, 'server.json'), JSON.stringify({ pid: process.pid, url, port, apiPort, project: cfg.project }));
  log(`kumo ${VERSION} listening on ${url} (home ${cfg.home})`);
  log(`kumo: Google APIs (Cloud Run Admin v1/v2, operations) on ${cfg.host}:${apiPort}, gRPC and REST`);
  log(`kumo: runtime ${container.kind}: ${container.reason}`);
  log(`kumo: dashboard at ${url}/ (sign in with \`kumo dashboard --open\`)${cfg.metricsOpen ? '; /metrics is open to processes on this machine (--metrics-open)' : ''}`);
  if (container.kind !== 'process') log(`kumo: source deploys run on the process runtime: ${processRuntime.isolation}`);
  else log(`kumo: the process runtime gives no isolation: ${processRuntime.isolation}`);
  if (cfg.allowHostNetwork) {
    log("kumo: WARNING: --allow-host-network: revisions may run on this machine's network (kumo.dev/network: host), where they reach everything on it");
  }
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
      await container.runtime?.close();
      await reg.close();
      telemetry.close();
      await logs.close();
      db.close();
      rmSync(join(cfg.home, 'server.json'), { force: true });
    })();
    return stopping;
  };
  return { url, port, apiPort, stop };
}
