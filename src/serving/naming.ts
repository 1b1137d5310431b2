/** Names and URLs, Cloud Run's way: `hello-00002-k7x`, `http://hello.localhost:8080`, `http://tag---hello.localhost:8080`. */

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `r` gives uniform numbers in [0, 1): randomness stays an argument. */
export function randomSuffix(length: number, r: () => number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)] ?? 'a';
  return s;
}

export function revisionName(service: string, configurationGeneration: number, r: () => number): string {
  // Cloud Run's style: NAME-00001-abc (the suffix keeps names unique across delete and re-create).
  return `${service}-${String(configurationGeneration).padStart(5, '0')}-${randomSuffix(3, r)}`;
}

export function instanceId(revision: string, r: () => number): string {
  return `${revision}-${randomSuffix(5, r)}`;
}

export interface UrlBase {
  /** Port of the front door as users reach it. */
  port: number;
  /** Domain under which services get a host name; `localhost` by default. */
  domain: string;
}

export function serviceHost(service: string, base: UrlBase): string {
  return `${service}.${base.domain}`;
}

export function serviceUrl(service: string, base: UrlBase): string {
  return `http://${serviceHost(service, base)}${base.port === 80 ? '' : `:${base.port}`}`;
}

export function tagUrl(tag: string, service: string, base: UrlBase): string {
  return serviceUrl(`${tag}---${service}`, base);
}

/**
 * What a Host header names: a service, a tagged target of a service, or nothing (kumo itself).
 * Pure; `domain` is the configured service domain.
 */
export function parseServiceHost(host: string | undefined, domain: string): { service: string; tag?: string } | undefined {
  if (!host) return undefined;
  let h = host.toLowerCase();
  if (h.startsWith('[')) return undefined;
  const colon = h.lastIndexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  if (h.endsWith('.')) h = h.slice(0, -1);
  const suffix = `.${domain}`;
  if (!h.endsWith(suffix)) return undefined;
  const label = h.slice(0, -suffix.length);
  if (label.length === 0 || label.includes('.')) return undefined;
  const sep = label.indexOf('---');
  if (sep > 0) return { service: label.slice(sep + 3), tag: label.slice(0, sep) };
  return { service: label };
}
