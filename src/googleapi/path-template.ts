/**
 * google.api.http path templates (`/v2/{parent=projects/*\/locations/*}/services`, `{name=operations/**}`,
 * `:verb` suffixes) compiled to matchers. Pure.
 *
 *   Template = "/" Segments [ ":" Verb ] ; Segment = "*" | "**" | LITERAL | "{" FieldPath [ "=" Segments ] "}"
 */
import { KumoError } from '../shared/errors.js';

export interface TemplateVariable {
  /** Field path as written in the template (proto names), e.g. `service.name`. */
  fieldPath: string;
  /** True when the variable may span several segments (`**`): `/` inside it is kept. */
  multiSegment: boolean;
}

export interface CompiledTemplate {
  source: string;
  regex: RegExp;
  variables: TemplateVariable[];
  verb: string | undefined;
  /** Literal segments count, used to prefer the most specific match. */
  literalCount: number;
}

function segmentPattern(segment: string, template: string): { pattern: string; multi: boolean; literal: boolean } {
  if (segment === '*') return { pattern: '[^/]+', multi: false, literal: false };
  if (segment === '**') return { pattern: '.+', multi: true, literal: false };
  if (segment === '' || /[{}*=]/.test(segment)) {
    throw new KumoError('INTERNAL', `bad path template ${template}: segment "${segment}"`);
  }
  return { pattern: segment.replace(/[.+?^$()[\]\\|-]/g, '\\$&'), multi: false, literal: true };
}

export function compileTemplate(template: string): CompiledTemplate {
  if (!template.startsWith('/')) throw new KumoError('INTERNAL', `bad path template ${template}: must start with /`);
  // Split off the verb: a ':' after the last '/' that is outside braces.
  let depth = 0;
  let verbAt = -1;
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ':' && depth === 0 && template.indexOf('/', i) < 0) verbAt = i;
  }
  const body = verbAt >= 0 ? template.slice(1, verbAt) : template.slice(1);
  const verb = verbAt >= 0 ? template.slice(verbAt + 1) : undefined;

  const parts: string[] = [];
  const variables: TemplateVariable[] = [];
  let literalCount = 0;
  const segments: string[] = [];
  // Tokenise into segments, keeping {...} groups whole.
  let current = '';
  depth = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c === '{') depth++;
    if (c === '}') depth--;
    if (c === '/' && depth === 0) {
      segments.push(current);
      current = '';
    } else current += c;
  }
  segments.push(current);

  for (const seg of segments) {
    if (seg.startsWith('{')) {
      if (!seg.endsWith('}')) throw new KumoError('INTERNAL', `bad path template ${template}: unclosed variable`);
      const inner = seg.slice(1, -1);
      const eq = inner.indexOf('=');
      const fieldPath = eq >= 0 ? inner.slice(0, eq) : inner;
      const sub = eq >= 0 ? inner.slice(eq + 1).split('/') : ['*'];
      let multi = false;
      const subPatterns = sub.map((s) => {
        const p = segmentPattern(s, template);
        multi ||= p.multi;
        if (p.literal) literalCount++;
        return p.pattern;
      });
      variables.push({ fieldPath, multiSegment: multi || sub.length > 1 });
      parts.push(`(${subPatterns.join('/')})`);
    } else {
      const p = segmentPattern(seg, template);
      if (p.literal) literalCount++;
      parts.push(p.pattern);
    }
  }
  // A template without a verb never matches a path whose last segment carries one.
  const tail = verb !== undefined ? `:${verb.replace(/[.+?^$()[\]\\|-]/g, '\\$&')}` : '';
  const noVerbGuard = verb === undefined ? '(?!.*:[^/]*$)' : '';
  const regex = new RegExp(`^${noVerbGuard}/${parts.join('/')}${tail}$`);
  return { source: template, regex, variables, verb, literalCount };
}

/** Match a raw (still percent-encoded) path; variables come back decoded. */
export function matchTemplate(t: CompiledTemplate, rawPath: string): Map<string, string> | undefined {
  const m = t.regex.exec(rawPath);
  if (!m) return undefined;
  const out = new Map<string, string>();
  for (let k = 0; k < t.variables.length; k++) {
    const v = t.variables[k] as TemplateVariable;
    const raw = m[k + 1] ?? '';
    let value: string;
    try {
      // Multi-segment values keep an encoded '/' encoded, as the http.proto spec asks.
      value = v.multiSegment
        ? raw.split('/').map((s) => decodeURIComponent(s).replace(/\//g, '%2F')).join('/')
        : decodeURIComponent(raw);
    } catch {
      throw new KumoError('INVALID_ARGUMENT', `path segment "${raw}" is not valid percent-encoding`, { field: v.fieldPath });
    }
    out.set(v.fieldPath, value);
  }
  return out;
}
