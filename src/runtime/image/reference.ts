/**
 * Image references as users type them, mapped onto kumo's registry. `localhost:8080/hello:v1`
 * (or any host kumo answers on, or no host at all) names repository `hello`. References a Cloud
 * Run export carries, `gcr.io/PROJECT/NAME` and `REGION-docker.pkg.dev/PROJECT/REPO/NAME`, map
 * to the same path in kumo's registry (`PROJECT/NAME`, `PROJECT/REPO/NAME`). Pure.
 */
import { KumoError } from '../../shared/errors.js';

const REPO_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;
const GCR_HOST = /^(?:[a-z]+\.)?gcr\.io$/;
const PKG_DEV_HOST = /^[a-z0-9-]+-docker\.pkg\.dev$/;

export interface ImageReference {
  /** What the user typed. */
  text: string;
  /** The registry host the reference names, or undefined when it names none. */
  host: string | undefined;
  /** The repository path inside kumo's registry. */
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
  /** Set when the reference named Google's registries and was mapped onto kumo's. */
  mappedFrom: 'gcr.io' | 'pkg.dev' | undefined;
}

function invalid(text: string, why: string): KumoError {
  return new KumoError('INVALID_ARGUMENT', `image "${text}" is not a valid image reference: ${why}`, { field: 'image' });
}

/** Does the first path component name a registry host (docker's rule: has `.` or `:`, or is `localhost`)? */
function looksLikeHost(part: string): boolean {
  return part.includes('.') || part.includes(':') || part === 'localhost';
}

/**
 * Parse a reference. `kumoHosts` are the hosts kumo's registry answers on (`localhost:8080`,
 * `127.0.0.1:8080`); a reference naming any other registry fails with the commands that copy it
 * into kumo's registry.
 */
export function parseImageReference(text: string, kumoHosts: string[]): ImageReference {
  const trimmed = text.trim();
  if (trimmed === '') throw invalid(text, 'it is empty');
  let rest = trimmed;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(text, `"${digest}" is not a digest (expected sha256:<64 hex digits>)`);
    if (digest.startsWith('sha256:') && !SHA256.test(digest)) throw invalid(text, 'a sha256 digest has 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(text, `tag "${tag}" must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}`);
  }
  const parts = rest.split('/');
  let host: string | undefined;
  if (parts.length > 1 && looksLikeHost(parts[0] ?? '')) host = parts.shift()?.toLowerCase();
  if (parts.length === 0 || parts.some((p) => !REPO_COMPONENT.test(p))) {
    throw invalid(text, 'repository path components are lowercase letters, digits and separators (. _ __ -), e.g. localhost:8080/team/hello:v1');
  }
  let mappedFrom: ImageReference['mappedFrom'];
  if (host && GCR_HOST.test(host)) {
    if (parts.length < 2) throw invalid(text, 'a gcr.io image is gcr.io/PROJECT/NAME');
    mappedFrom = 'gcr.io';
  } else if (host && PKG_DEV_HOST.test(host)) {
    if (parts.length < 3) throw invalid(text, 'an Artifact Registry image is REGION-docker.pkg.dev/PROJECT/REPOSITORY/NAME');
    mappedFrom = 'pkg.dev';
  } else if (host && !kumoHosts.map((h) => h.toLowerCase()).includes(host)) {
    const target = `${kumoHosts[0] ?? 'localhost:8080'}/${parts.join('/')}${tag ? `:${tag}` : ':latest'}`;
    throw new KumoError(
      'FAILED_PRECONDITION',
      `image "${text}" is in another registry (${host}) and kumo runs images from its own registry only; copy it in with: docker pull ${trimmed} && docker tag ${trimmed} ${target} && docker push ${target}, then deploy --image ${target}`,
      { field: 'image' },
    );
  }
  return { text: trimmed, host, repository: parts.join('/'), tag: digest ? tag : (tag ?? 'latest'), digest, mappedFrom };
}

/** The error for a reference kumo's registry does not hold, with the commands that put it there. */
export function notInRegistryError(ref: ImageReference, kumoHost: string): KumoError {
  const name = `${kumoHost}/${ref.repository}`;
  const wanted = ref.digest ? `${ref.repository}@${ref.digest}` : `${ref.repository}:${ref.tag ?? 'latest'}`;
  const target = `${name}:${ref.tag ?? 'latest'}`;
  const source = ref.text;
  const how =
    ref.host && ref.host !== kumoHost
      ? `docker tag ${source} ${target} && docker push ${target}`
      : `docker tag IMAGE ${target} && docker push ${target}`;
  const mapped = ref.mappedFrom ? ` (${ref.mappedFrom} images map to the same path in kumo's registry)` : '';
  return new KumoError('NOT_FOUND', `image "${source}" is not in kumo's registry: no ${wanted}${mapped}; push it with: ${how}`, { field: 'image' });
}
