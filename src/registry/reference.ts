/**
 * The grammar of repository names, tags and digests (distribution-spec §pulling-manifests,
 * image-spec descriptor.md), and the reading of image references users type. Pure.
 */
import { RegistryError } from './errors.js';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_RE = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
/** Clients cap `host/name` at 255 characters; leave room for a host. */
export const MAX_NAME_LENGTH = 255;

export interface Digest {
  algorithm: string;
  hex: string;
  /** `algorithm:hex`. */
  text: string;
}

/** Whether `name` is a valid repository name. */
export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** Throws NAME_INVALID naming the rule when `name` breaks the grammar. */
export function checkName(name: string): void {
  if (isValidName(name)) return;
  const why =
    name.length > MAX_NAME_LENGTH
      ? `it is ${name.length} characters long; the limit is ${MAX_NAME_LENGTH}`
      : 'names are lowercase letters and digits in /-separated components, joined inside a component by ".", "_", "__" or dashes';
  throw new RegistryError('NAME_INVALID', `invalid repository name "${name}": ${why}`, { detail: { name } });
}

/**
 * Parse a digest. Returns undefined when it breaks the grammar; sha256 and sha512 must also be
 * lowercase hex of the right length.
 */
export function parseDigest(text: string): Digest | undefined {
  const m = DIGEST_RE.exec(text);
  if (!m) return undefined;
  const algorithm = m[1] ?? '';
  const hex = m[2] ?? '';
  if (algorithm === 'sha256' && !/^[a-f0-9]{64}$/.test(hex)) return undefined;
  if (algorithm === 'sha512' && !/^[a-f0-9]{128}$/.test(hex)) return undefined;
  return { algorithm, hex, text };
}

/** A sha256 digest this registry can store, or DIGEST_INVALID naming the problem. */
export function requireSha256(text: string, what: string): Digest {
  const d = parseDigest(text);
  if (!d) {
    throw new RegistryError('DIGEST_INVALID', `${what} "${text}" is not a valid digest; expected sha256:<64 lowercase hex digits>`, {
      detail: { digest: text },
    });
  }
  if (d.algorithm !== 'sha256') {
    throw new RegistryError('DIGEST_INVALID', `${what} uses algorithm "${d.algorithm}"; this registry stores sha256 digests only`, {
      detail: { digest: text },
    });
  }
  return d;
}

export type ManifestReference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest };

/** A manifest reference from a URL: a tag, or a digest (anything with a colon). */
export function parseManifestReference(text: string): ManifestReference {
  if (text.includes(':')) return { kind: 'digest', digest: requireSha256(text, 'manifest digest') };
  if (!isValidTag(text)) {
    throw new RegistryError(
      'MANIFEST_INVALID',
      `invalid tag "${text}": tags are 1 to 128 characters of letters, digits, "_", "." and "-", not starting with "." or "-"`,
      { detail: { tag: text } },
    );
  }
  return { kind: 'tag', tag: text };
}

/** An image reference as users write it. */
export interface ImageReference {
  /** Registry host as written (`localhost:8080`, `gcr.io`), or undefined when none was given. */
  host?: string;
  /** Repository path inside kumo's registry. */
  repository: string;
  tag?: string;
  digest?: string;
}

/**
 * Read `[host/]path[:tag][@digest]`. The first component is a host when it contains "." or ":" or is
 * `localhost` (Docker's rule). Whatever the host, the repository is the path after it, so
 * `gcr.io/p/app:v1` and `us-docker.pkg.dev/p/r/app:v1` name `p/app` and `p/r/app` in kumo.
 * Throws NAME_INVALID / MANIFEST_INVALID / DIGEST_INVALID for text that breaks the grammar.
 */
export function parseImageReference(text: string): ImageReference {
  let rest = text.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = requireSha256(rest.slice(at + 1), 'image digest').text;
    rest = rest.slice(0, at);
  }
  let host: string | undefined;
  const slash = rest.indexOf('/');
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      host = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0 && !rest.slice(colon).includes('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) parseManifestReference(tag);
  }
  checkName(rest);
  return { ...(host === undefined ? {} : { host }), repository: rest, ...(tag === undefined ? {} : { tag }), ...(digest ? { digest } : {}) };
}
