/**
 * kumo's OCI registry (the role of GCR): the /v2/ API on the front door, a content-addressed blob
 * store in KUMO_HOME, image resolution for the runtimes, and the `kumo images` operations.
 * One object per server, built by `createRegistry`; no module state.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ImageSource, ResolvedImage } from '../runtime/runtime.js';
import type { Clock } from '../shared/clock.js';
import type { Database } from '../store/database.js';
import { BlobFiles } from './blob-files.js';
import type { PinnedImage } from './content.js';
import { RegistryContent } from './content.js';
import { planCollection } from './gc.js';
import { createHttpHandler } from './http.js';
import type { DeleteResult, ImageDescription, ImageSummary } from './images.js';
import { Images } from './images.js';
import { RegistryStore } from './registry.store.js';
import { Uploads } from './uploads.js';

export type { PinnedImage } from './content.js';
export type { DeleteResult, ImageDescription, ImageSummary, ImageVersion } from './images.js';
export { TOKEN_USERNAME } from './auth.js';

export interface RegistryOptions {
  /** KUMO_HOME: blobs under `blobs/sha256/`, upload sessions under `uploads/`. */
  home: string;
  db: Database;
  clock: Clock;
  /** Verify a kumo access token; throws KumoError UNAUTHENTICATED / PERMISSION_DENIED. */
  authenticate(token: string): { sub: string; expiresAtMs?: number };
  /** Let pulls through without credentials (default false). */
  anonymousPull?: boolean;
  /** The token endpoint URL for the `WWW-Authenticate` challenge, e.g. `http://localhost:8080/v2/token`. */
  realm: (req: IncomingMessage) => string;
  /** Digests deployed revisions are pinned to: never collected, never deleted. */
  pinned: () => Iterable<PinnedImage>;
  /**
   * How users reach this registry, for the fixes error messages suggest (default `localhost:8080`);
   * a function when the port is known only once the server listens (`--port 0`).
   */
  publicHost?: string | (() => string);
  /** Upload sessions untouched this long expire (default 1 h). */
  uploadTtlMs?: number;
  /** Interval of the background collection pass; 0 turns it off (default 1 h). */
  gcIntervalMs?: number;
  /** What the background pass leaves alone: anything pushed or touched more recently (default 1 h). */
  gcGraceMs?: number;
  /** Where unexpected errors go (default: stderr). */
  onInternalError?: (err: unknown) => void;
}

export interface GcOptions {
  /** Keep what was pushed or touched within this many ms (default: the background grace). */
  graceMs?: number;
}

export interface GcReport {
  manifestsDeleted: { repository: string; digest: string }[];
  blobsDeleted: number;
  bytesFreed: number;
  uploadsExpired: number;
}

export interface Registry {
  /** Every `/v2/…` request, the token endpoint `/v2/token` included. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** A reference (`localhost:8080/repo:tag`, `repo@sha256:…`, `gcr.io/p/repo:tag`) → a pinned linux/amd64 image. */
  resolveImage(reference: string): Promise<ResolvedImage>;
  /** Blob bytes for the runtimes. */
  readonly imageSource: ImageSource;
  listImages(): ImageSummary[];
  describeImage(name: string): Promise<ImageDescription>;
  deleteImage(reference: string): DeleteResult;
  gc(o?: GcOptions): GcReport;
  close(): Promise<void>;
}

const HOUR_MS = 3_600_000;

export function createRegistry(o: RegistryOptions): Registry {
  const files = new BlobFiles(o.home);
  const store = new RegistryStore(o.db);
  const publishing = new Set<string>();
  const pinnedDigests = (): Set<string> => new Set([...o.pinned()].map((p) => p.digest));
  const content = new RegistryContent(files, store, o.clock, publishing, o.pinned);
  const uploads = new Uploads(files, store, o.clock, publishing);
  const publicHost = o.publicHost;
  const images = new Images(files, store, content, pinnedDigests, typeof publicHost === 'function' ? publicHost : () => publicHost ?? 'localhost:8080');
  const onInternalError = o.onInternalError ?? ((err: unknown) => console.error('registry: internal error', err));
  const uploadTtlMs = o.uploadTtlMs ?? HOUR_MS;
  const graceDefault = o.gcGraceMs ?? HOUR_MS;
  const handle = createHttpHandler({
    content,
    uploads,
    access: { authenticate: (token) => o.authenticate(token), anonymousPull: o.anonymousPull ?? false },
    realm: o.realm,
    clock: o.clock,
    onInternalError: (err) => onInternalError(err),
  });

  /** Synchronous from the snapshot to the last unlink, so no push can interleave with it. */
  function gc(g: GcOptions = {}): GcReport {
    const now = o.clock.now();
    const graceMs = g.graceMs ?? graceDefault;
    const plan = planCollection(store.snapshot(), pinnedDigests(), now, graceMs, publishing);
    store.atomically(() => {
      store.deleteManifests(plan.manifests);
      store.forgetBlobs(plan.blobs.map((b) => b.digest));
    });
    files.removeSync(plan.blobs.map((b) => b.digest));
    let bytesFreed = plan.blobs.reduce((n, b) => n + b.size, 0);
    // Files no row knows (a crash between rename and commit) go once they are older than the grace.
    const known = store.allBlobDigests();
    const orphans = files.listBlobFiles().filter((f) => !known.has(f.digest) && !publishing.has(f.digest) && f.mtimeMs < now - graceMs);
    files.removeSync(orphans.map((f) => f.digest));
    bytesFreed += orphans.reduce((n, f) => n + f.size, 0);
    const uploadsExpired = uploads.expire(now - uploadTtlMs);
    return { manifestsDeleted: plan.manifests, blobsDeleted: plan.blobs.length + orphans.length, bytesFreed, uploadsExpired };
  }

  let timer = o.gcIntervalMs === 0 ? undefined : schedule();
  function schedule(): ReturnType<Clock['setTimeout']> {
    return o.clock.setTimeout(() => {
      try {
        gc();
      } catch (err) {
        onInternalError(err);
      }
      timer = schedule();
    }, o.gcIntervalMs ?? HOUR_MS);
  }

  return {
    handle,
    resolveImage: (reference) => images.resolve(reference),
    imageSource: { openBlob: (d) => images.openBlob(d), blobPath: (d) => images.blobPath(d) },
    listImages: () => images.list(),
    describeImage: (name) => images.describe(name),
    deleteImage: (reference) => images.delete(reference),
    gc,
    async close() {
      if (timer) o.clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
