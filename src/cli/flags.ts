/**
 * Flag parsing in gcloud's style: `--name value`, `--name=value`, `--flag` / `--no-flag` for
 * booleans. Unknown flags fail with the closest known name. Pure.
 */
import { KumoError } from '../shared/errors.js';

export type FlagType = 'string' | 'bool' | 'list';

export interface FlagSpec {
  type: FlagType;
  /** Shown in help. */
  help: string;
  /** For list flags: the separator (default `,`). */
  separator?: string;
  /** Placeholder in help, e.g. `DIR`. */
  metavar?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export interface Parsed {
  positionals: string[];
  /** Flag name → value: string, boolean, or string[] (lists; repeated flags append). */
  flags: Record<string, string | boolean | string[]>;
}

function closest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (dp[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = dp[i] as number[];
      const prev = dp[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return (dp[a.length] as number[])[b.length] as number;
}

export function parseFlags(argv: string[], specs: FlagSpecs): Parsed {
  const out: Parsed = { positionals: [], flags: {} };
  const known = Object.keys(specs);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '--') {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let inline: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let spec = specs[name];
    let negated = false;
    if (!spec && name.startsWith('no-') && specs[name.slice(3)]?.type === 'bool') {
      name = name.slice(3);
      spec = specs[name];
      negated = true;
    }
    if (!spec) {
      const guess = closest(name, known);
      throw new KumoError('INVALID_ARGUMENT', `unknown flag --${name}${guess ? `; did you mean --${guess}?` : ''} (see --help)`, { field: `--${name}` });
    }
    if (spec.type === 'bool') {
      if (inline !== undefined) {
        if (inline !== 'true' && inline !== 'false') throw new KumoError('INVALID_ARGUMENT', `--${name} takes no value, or =true / =false`, { field: `--${name}` });
        out.flags[name] = negated ? inline !== 'true' : inline === 'true';
      } else out.flags[name] = !negated;
      continue;
    }
    if (inline === undefined) {
      inline = argv[i + 1];
      if (inline === undefined || (inline.startsWith('--') && inline.length > 2)) {
        throw new KumoError('INVALID_ARGUMENT', `--${name} needs a value${spec.metavar ? ` (${spec.metavar})` : ''}`, { field: `--${name}` });
      }
      i++;
    }
    if (spec.type === 'list') {
      const sep = spec.separator ?? ',';
      const prev = out.flags[name];
      const items = inline === '' ? [] : inline.split(sep);
      out.flags[name] = [...(Array.isArray(prev) ? prev : []), ...items];
    } else {
      out.flags[name] = inline;
    }
  }
  return out;
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: Parsed, name: string): boolean | undefined {
  const v = p.flags[name];
  return typeof v === 'boolean' ? v : undefined;
}

export function list(p: Parsed, name: string): string[] | undefined {
  const v = p.flags[name];
  return Array.isArray(v) ? v : undefined;
}

/** A whole number flag within a range, or a KumoError naming the flag, the range and what was given. */
export function intFlag(p: Parsed, name: string, min: number, max: number): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || n < min || n > max) {
    throw new KumoError('INVALID_ARGUMENT', `--${name} must be a whole number from ${min} to ${max}; got "${v}"`, { field: `--${name}` });
  }
  return n;
}

export function helpFor(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([k, s]) => [`--${k}${s.type === 'bool' ? '' : ` ${s.metavar ?? 'VALUE'}`}`, s.help] as const);
  const w = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join('\n');
}
