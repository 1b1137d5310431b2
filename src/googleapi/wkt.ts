/**
 * The text forms proto3 JSON gives some well-known types: Timestamp as RFC 3339, Duration as
 * `"1.5s"`, FieldMask as comma-separated lowerCamelCase paths. Pure; each parser returns an error
 * description (what is wrong and the expected form) instead of throwing.
 */

export interface SecondsNanos {
  /** int64 seconds as a decimal string (protobuf object form). */
  seconds: string;
  nanos: number;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

export function parseTimestamp(text: string): Parsed<SecondsNanos> {
  const m = RFC3339.exec(text);
  if (!m) return { ok: false, error: `"${text}" is not an RFC 3339 timestamp (expected e.g. "2024-05-01T12:00:00Z")` };
  const [, y, mo, d, h, mi, s, frac, zone] = m as unknown as string[];
  const baseMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(baseMs) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return { ok: false, error: `"${text}" is not a valid date and time` };
  }
  let offsetSec = 0;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    offsetSec = sign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60);
  }
  const seconds = Math.floor(baseMs / 1000) - offsetSec;
  const nanos = frac ? Number(frac.padEnd(9, '0')) : 0;
  if (seconds < -62135596800 || seconds > 253402300799) return { ok: false, error: `"${text}" is outside 0001-01-01 to 9999-12-31` };
  return { ok: true, value: { seconds: String(seconds), nanos } };
}

function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const digits = String(nanos).padStart(9, '0');
  if (digits.endsWith('000000')) return `.${digits.slice(0, 3)}`;
  if (digits.endsWith('000')) return `.${digits.slice(0, 6)}`;
  return `.${digits}`;
}

export function formatTimestamp(value: SecondsNanos): string {
  const ms = Number(value.seconds) * 1000;
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  return `${iso.slice(0, 19)}${fraction(value.nanos)}Z`;
}

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

export function parseDuration(text: string): Parsed<SecondsNanos> {
  const m = DURATION.exec(text);
  if (!m) return { ok: false, error: `"${text}" is not a duration (expected seconds with an "s" suffix, e.g. "300s" or "1.5s")` };
  const negative = m[1] === '-';
  const whole = Number(m[2]);
  if (whole > 315576000000) return { ok: false, error: `"${text}" is longer than 10000 years` };
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  return { ok: true, value: { seconds: String(negative ? -whole : whole), nanos: negative ? -nanos : nanos } };
}

export function formatDuration(value: SecondsNanos): string {
  const seconds = Number(value.seconds);
  const negative = seconds < 0 || value.nanos < 0;
  return `${negative ? '-' : ''}${Math.abs(seconds)}${fraction(Math.abs(value.nanos))}s`;
}

export function camelToSnake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function snakeToCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** FieldMask JSON (`"a.bC,d"`) → proto paths (`["a.b_c", "d"]`). */
export function parseFieldMask(text: string): string[] {
  if (text === '') return [];
  return text.split(',').map((p) => p.split('.').map(camelToSnake).join('.'));
}

export function formatFieldMask(paths: readonly string[]): string {
  return paths.map((p) => p.split('.').map(snakeToCamel).join('.')).join(',');
}
