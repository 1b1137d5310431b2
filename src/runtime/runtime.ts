/**
 * The Runtime port: how kumo starts, stops, freezes and finds instances. Adapters: `process`
 * (host processes, no isolation), `runc` (the default on Linux as root) and `docker`.
 * No adapter type (pid files, runc state, Docker objects) crosses this port.
 */
import type { Readable } from 'node:stream';
import type { InstanceIdentity } from '../shared/origin.js';

export type RuntimeKind = 'process' | 'runc' | 'docker';

/** An image as resolved from kumo's registry, pinned by digest. */
export interface ResolvedImage {
  /** The reference the user gave, e.g. `localhost:8080/hello:v1`. */
  reference: string;
  /** Repository path inside kumo's registry, e.g. `hello` or `team/api`. */
  repository: string;
  /** Digest of the image manifest (linux/amd64 when the reference named an index). */
  digest: string;
  /** Layer blobs, bottom first. */
  layers: { digest: string; mediaType: string; size: number }[];
  /** The parts of the image config a runtime needs. */
  config: {
    entrypoint: string[];
    cmd: string[];
    env: string[];
    workingDir: string;
    user: string;
    exposedPorts: number[];
  };
}

/** Where runtimes read image blobs from (kumo's registry implements it). */
export interface ImageSource {
  /** A stream of the blob's bytes; throws KumoError NOT_FOUND if absent. */
  openBlob(digest: string): Promise<Readable>;
  /** Path of the blob on local disk when the store keeps one (a fast path for unpacking). */
  blobPath?(digest: string): string | undefined;
}

/** What kumo asks a runtime to run. */
export interface InstanceSpec {
  /** Unique, DNS-safe id kumo gives the instance, e.g. `hello-00001-abc-k3x9q`. */
  instanceId: string;
  service: string;
  revision: string;
  configuration: string;
  /** A pinned source folder (runs on the host's `node`/shell) or a pinned image. */
  workload: { kind: 'source'; dir: string } | { kind: 'image'; image: ResolvedImage };
  /** Overrides the image entrypoint (or, for source, the program to run). */
  command?: string[];
  args?: string[];
  /** Environment without PORT: the runtime sets PORT to where the app must listen. */
  env: Record<string, string>;
  /** The port the app is told to listen on when it has a network of its own (Cloud Run default 8080). */
  containerPort: number;
  cpuMillis: number;
  memoryBytes: number;
  /** How long the app may take to accept a TCP connection on PORT. */
  startupTimeoutMs: number;
  /** `isolated`: a network namespace of its own; `host`: the host's network with a free PORT. */
  network: 'isolated' | 'host';
}

/** Why an instance ended. */
export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** Killed for exceeding its memory limit. */
  oomKilled: boolean;
  /** A sentence for logs and status, e.g. `exited with code 1` or `exceeded memory limit of 512 MiB`. */
  reason: string;
}

/** Milliseconds since epoch at each stage of a start, for the cold-start breakdown. */
export interface StartTimings {
  requestedAt: number;
  /** Bundle, root filesystem and network prepared (runc/docker); equal to requestedAt for process. */
  preparedAt?: number;
  /** The process exists. */
  spawnedAt?: number;
  /** The app accepted a TCP connection on its port. */
  readyAt?: number;
}

export interface Instance {
  readonly id: string;
  /** Where kumo's router connects to reach the app. */
  readonly endpoint: { host: string; port: number };
  /** Resolves once the app accepts TCP connections; rejects (KumoError UNAVAILABLE) if it exits first or times out. */
  readonly ready: Promise<void>;
  /** Resolves when the instance has ended, for any reason. Never rejects. */
  readonly exited: Promise<ExitInfo>;
  readonly timings: StartTimings;
}

/** Receives an instance's output, a line at a time. */
export interface InstanceSink {
  log(stream: 'stdout' | 'stderr', line: string, timeMs: number): void;
}

/** An instance the runtime can see, including ones an earlier server process left behind. */
export interface RuntimeInstanceInfo {
  instanceId: string;
  service?: string;
  revision?: string;
  running: boolean;
}

/** CPU and memory use of a running instance, from cgroups where the runtime has them. */
export interface InstanceStats {
  /** Total CPU time used since start, in microseconds. */
  cpuUsageUsec: number;
  memoryBytes: number;
}

export interface Runtime {
  readonly kind: RuntimeKind;
  /** A sentence on what isolation this runtime gives, shown at server start and in deploy output. */
  readonly isolation: string;
  start(spec: InstanceSpec, sink: InstanceSink): Promise<Instance>;
  /** SIGTERM, then SIGKILL after `graceMs`; thaws a frozen instance first. Resolves when gone. */
  stop(instanceId: string, graceMs: number): Promise<ExitInfo | undefined>;
  /** Stop giving the instance CPU while it has no request in flight. */
  freeze(instanceId: string): void | Promise<void>;
  /** Give CPU back; must be fast (it sits on the request path). */
  thaw(instanceId: string): void | Promise<void>;
  /** Every instance under this kumo home, running or left behind. */
  list(): Promise<RuntimeInstanceInfo[]>;
  /** Kill and clean up an instance this server does not manage (an orphan of a crashed server). */
  remove(instanceId: string): Promise<void>;
  stats?(instanceId: string): InstanceStats | undefined;
  /** Get an image ready (unpack layers, pull) before its first instance starts; a deploy calls it. */
  prepareImage?(image: ResolvedImage): Promise<void>;
  /** The set of service host names changed (instances resolve them to kumo's router). */
  refreshHosts?(): void;
  /** A revision stopped serving: drop anything kept ready for it. */
  releaseRevision?(revision: string): void;
  /**
   * Who is calling kumo (see `shared/origin.ts`). `instanceAt`: the running instance that holds
   * this address of its own (runtimes that give instances their own network). The other two are
   * for instances on the host's network, whose connections come from loopback:
   * `hasHostNetworkInstances` says whether any runs now, `instanceOfProcess` which one a host
   * process (the owner of a peer socket) belongs to.
   */
  instanceAt?(address: string): InstanceIdentity | undefined;
  hasHostNetworkInstances?(): boolean;
  instanceOfProcess?(pid: number): InstanceIdentity | undefined;
  /** Release runtime-wide resources; instances must have been stopped by the caller. */
  close(): Promise<void>;
}
