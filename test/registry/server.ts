/**
 * kumo's registry as users reach it: a real `kumo server` (dist/, ephemeral ports, a fresh
 * KUMO_HOME) answering `/v2/…` on its front door, and a token from `kumo auth print-access-token`.
 * The shape matches the in-process harness's `Target`, so the raw-HTTP helpers work on both.
 */
import { join } from 'node:path';
import { loadOrCreateKeys } from '../../src/auth/tokens.js';
import type { SigningKeys } from '../../src/auth/tokens.js';
import { removeHome, startKumo } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';

export interface RegistryServer {
  kumo: KumoServer;
  home: string;
  /** `127.0.0.1:<port>` */
  host: string;
  /** `localhost:<port>`: the everyday `docker push localhost:8080/…` name. */
  localhost: string;
  base: string;
  /** An access token from `kumo auth print-access-token`. */
  token: string;
  /** `Bearer <token>` */
  auth: string;
  /** `oauth2accesstoken:<token>`, for `--creds` of skopeo and buildah. */
  creds: string;
  /** The server's signing keys (read from KUMO_HOME), to mint odd tokens in tests. */
  keys(): SigningKeys;
  /** Run the kumo CLI against this server; throws with its output when it fails. */
  kumoCli(args: string[]): string;
  close(): Promise<void>;
}

export function printAccessToken(k: KumoServer): string {
  const r = k.cli(['auth', 'print-access-token']);
  if (r.code !== 0) throw new Error(`kumo auth print-access-token failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

/** Wrap a running kumo server (also one restarted on the same home). */
export function registryOf(kumo: KumoServer): RegistryServer {
  const token = printAccessToken(kumo);
  return {
    kumo,
    home: kumo.home,
    host: `127.0.0.1:${kumo.port}`,
    localhost: `localhost:${kumo.port}`,
    base: `http://127.0.0.1:${kumo.port}`,
    token,
    auth: `Bearer ${token}`,
    creds: `oauth2accesstoken:${token}`,
    keys: () => loadOrCreateKeys(join(kumo.home, 'keys')),
    kumoCli(args) {
      const r = kumo.cli(args);
      if (r.code !== 0) throw new Error(`kumo ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    },
    async close() {
      await kumo.stop();
    },
  };
}

/** Start a kumo server for registry tests; `close()` stops it and removes its home. */
export async function startRegistryServer(flags: string[] = []): Promise<RegistryServer> {
  const kumo = await startKumo(flags);
  const r = registryOf(kumo);
  return {
    ...r,
    async close() {
      await kumo.stop();
      removeHome(kumo);
    },
  };
}

export interface ImageDeploy {
  /** The deploy's exit code and output (on the process runtime it fails at the instance start). */
  code: number;
  output: string;
  revision: string;
  /** `status.imageDigest` of the new revision: `REPOSITORY@sha256:…`. */
  imageDigest: string | undefined;
}

interface RevisionJson {
  metadata: { name: string; creationTimestamp: string };
  status: { imageDigest?: string };
}

/**
 * `kumo run deploy SERVICE --image IMAGE`, then the newest revision as `kumo run revisions list`
 * shows it. The digest is pinned when the image is resolved, before any instance starts.
 */
export function deployImage(r: RegistryServer, service: string, image: string): ImageDeploy {
  const d = r.kumo.cli(['run', 'deploy', service, '--image', image]);
  const revisions = JSON.parse(r.kumoCli(['run', 'revisions', 'list', '--service', service, '--format', 'json'])) as RevisionJson[];
  const newest = revisions.sort((a, b) => b.metadata.name.localeCompare(a.metadata.name))[0];
  if (!newest) throw new Error(`no revision for ${service}:\n${d.stdout}\n${d.stderr}`);
  return { code: d.code, output: `${d.stdout}\n${d.stderr}`, revision: newest.metadata.name, imageDigest: newest.status.imageDigest };
}
