/**
 * The one generic REST ↔ RPC transcoder: routes come from the protos' google.api.http annotations
 * (plus a service's extra bindings); a matched request becomes the RPC's request message from its
 * path variables, its body (`*` or one field) and its query parameters (nested with dots).
 */
import protobuf from 'protobufjs';
import { KumoError, invalidArgument } from '../shared/errors.js';
import type { Json, JsonObject } from './json.types.js';
import { isJsonObject } from './json.types.js';
import { findField, jsonNameOf, jsonToObject, objectToJson } from './json-codec.js';
import type { CompiledTemplate } from './path-template.js';
import { compileTemplate, matchTemplate } from './path-template.js';
import type { ExtraHttpRule } from './plugin.types.js';

const VERBS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Query parameters every Google REST API accepts that are not request fields. */
const SYSTEM_PARAMS = new Set([
  'alt', '$alt', 'key', 'prettyPrint', '$prettyPrint', 'fields', '$fields', 'quotaUser', '$quotaUser', 'userIp',
  'callback', '$callback', 'upload_protocol', 'uploadType', 'access_token', 'oauth_token', '$.xgafv', 'trace',
]);

export interface HttpBinding {
  httpMethod: string;
  template: CompiledTemplate;
  /** `*`, a request field name, or undefined (no body). */
  body: string | undefined;
  responseBody: string | undefined;
  /** Full RPC name, e.g. `google.cloud.run.v2.Services.GetService`. */
  rpc: string;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
}

interface RawRule {
  get?: string; put?: string; post?: string; delete?: string; patch?: string;
  custom?: { kind?: string; path?: string };
  body?: string;
  response_body?: string;
  additional_bindings?: RawRule | RawRule[];
}

function rulesOf(method: protobuf.Method): RawRule[] {
  const out: RawRule[] = [];
  for (const opt of method.parsedOptions ?? []) {
    const rule = (opt as Record<string, unknown>)['(google.api.http)'] as RawRule | undefined;
    if (!rule) continue;
    out.push(rule);
    const extra = rule.additional_bindings;
    if (extra) out.push(...(Array.isArray(extra) ? extra : [extra]));
  }
  return out;
}

function bindingOf(rule: RawRule, rpc: string, method: protobuf.Method): HttpBinding | undefined {
  let httpMethod: string | undefined;
  let path: string | undefined;
  for (const v of VERBS) {
    if (rule[v]) {
      httpMethod = v.toUpperCase();
      path = rule[v];
    }
  }
  if (!httpMethod && rule.custom?.kind && rule.custom.path) {
    httpMethod = rule.custom.kind.toUpperCase();
    path = rule.custom.path;
  }
  if (!httpMethod || !path) return undefined;
  return {
    httpMethod,
    template: compileTemplate(path),
    body: rule.body || undefined,
    responseBody: rule.response_body || undefined,
    rpc,
    requestType: method.resolvedRequestType as protobuf.Type,
    responseType: method.resolvedResponseType as protobuf.Type,
  };
}

/** Every REST binding of the given services, from their annotations and the extra rules. */
export function bindingsOf(root: protobuf.Root, services: readonly string[], extra: readonly ExtraHttpRule[] = []): HttpBinding[] {
  const out: HttpBinding[] = [];
  const methods = new Map<string, protobuf.Method>();
  for (const name of services) {
    const svc = root.lookupService(name);
    for (const m of svc.methodsArray) {
      const rpc = `${name}.${m.name}`;
      methods.set(rpc, m);
      for (const rule of rulesOf(m)) {
        const b = bindingOf(rule, rpc, m);
        if (b) out.push(b);
      }
    }
  }
  for (const rule of extra) {
    const m = methods.get(rule.selector);
    if (!m) throw new KumoError('INTERNAL', `extra http rule for ${rule.selector}, which no plugin serves`);
    const b = bindingOf(rule, rule.selector, m);
    if (b) out.push(b);
  }
  // Most specific first: a verb beats none, more literal segments beat fewer.
  return out.sort((a, b) => Number(b.template.verb !== undefined) - Number(a.template.verb !== undefined) || b.template.literalCount - a.template.literalCount);
}

export interface TranscodeMatch {
  binding: HttpBinding;
  vars: Map<string, string>;
}

export class Transcoder {
  constructor(
    private readonly root: protobuf.Root,
    readonly bindings: readonly HttpBinding[],
  ) {}

  /** The binding for this method and path; `methodMismatch` when only the method is wrong. */
  match(httpMethod: string, rawPath: string): TranscodeMatch | { methodMismatch: string[] } | undefined {
    const allowed: string[] = [];
    for (const binding of this.bindings) {
      const vars = matchTemplate(binding.template, rawPath);
      if (!vars) continue;
      if (binding.httpMethod === httpMethod) return { binding, vars };
      allowed.push(binding.httpMethod);
    }
    return allowed.length > 0 ? { methodMismatch: allowed } : undefined;
  }

  /** Build the request message (proto3 JSON, canonical) from path, query and body. */
  request(match: TranscodeMatch, query: URLSearchParams, bodyText: string): JsonObject {
    const { binding, vars } = match;
    const type = binding.requestType;
    let request: JsonObject = {};
    if (binding.body) {
      const parsed = parseJsonBody(bodyText);
      if (binding.body === '*') {
        if (parsed !== undefined && !isJsonObject(parsed)) throw invalidArgument([{ field: 'body', description: 'expected a JSON object' }]);
        request = parsed ?? {};
      } else {
        const field = findField(type, binding.body);
        if (!field) throw new KumoError('INTERNAL', `http rule body "${binding.body}" is not a field of ${type.name}`);
        if (parsed !== undefined) request[jsonNameOf(field)] = parsed;
      }
    } else if (bodyText.trim() !== '') {
      throw invalidArgument([{ field: 'body', description: `${binding.httpMethod} ${binding.template.source} takes no body; send the fields as query parameters` }]);
    }
    const violations: { field: string; description: string }[] = [];
    for (const [key, value] of groupQuery(query)) {
      if (SYSTEM_PARAMS.has(key)) continue;
      if (binding.body === '*') {
        violations.push({ field: key, description: 'this method takes its fields in the JSON body, not as query parameters' });
        continue;
      }
      const problem = setByPath(type, request, key.split('.'), value, 'query');
      if (problem) violations.push({ field: key, description: problem });
    }
    for (const [fieldPath, value] of vars) {
      const problem = setByPath(type, request, fieldPath.split('.'), [value], 'path');
      if (problem) throw new KumoError('INTERNAL', `path variable ${fieldPath}: ${problem}`);
    }
    let converted: Record<string, unknown> | undefined;
    try {
      converted = jsonToObject(this.root, type, request);
    } catch (err) {
      if (!(err instanceof KumoError) || err.code !== 'INVALID_ARGUMENT') throw err;
      violations.push(...(err.fields.violations ?? []));
    }
    if (violations.length > 0 || !converted) throw invalidArgument(violations);
    return objectToJson(this.root, type, converted);
  }
}

/** Parse a REST body; empty is undefined; malformed is INVALID_ARGUMENT with the position. */
export function parseJsonBody(text: string): Json | undefined {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw invalidArgument([{ field: 'body', description: `not valid JSON (${err instanceof Error ? err.message : String(err)})` }]);
  }
}

function groupQuery(query: URLSearchParams): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of query) {
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}

/** Put a query/path value into the request JSON at a dotted field path; returns a problem or undefined. */
function setByPath(type: protobuf.Type, target: JsonObject, segments: string[], values: string[], from: 'query' | 'path'): string | undefined {
  let current = type;
  let obj = target;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as string;
    const field = findField(current, seg);
    if (!field) return `no field "${seg}" in ${current.fullName.slice(1)}; the ${from} cannot set it`;
    const key = jsonNameOf(field);
    const resolved = field.resolvedType;
    const last = i === segments.length - 1;
    if (!last) {
      if (!(resolved instanceof protobuf.Type) || field.repeated || field instanceof protobuf.MapField) return `"${seg}" is not a singular message field, so it cannot have sub-fields`;
      const next = obj[key];
      if (next === undefined || next === null) obj[key] = {};
      else if (!isJsonObject(next)) return `"${seg}" is already set to a non-object`;
      obj = obj[key] as JsonObject;
      current = resolved;
      continue;
    }
    if (field instanceof protobuf.MapField) return `"${seg}" is a map; send it in the JSON body`;
    if (resolved instanceof protobuf.Type && !STRING_FORM.has(resolved.fullName.slice(1))) {
      return `"${seg}" is a message (${resolved.fullName.slice(1)}); send it in the JSON body`;
    }
    const leafType = resolved instanceof protobuf.Type ? wrapperInner(resolved) : resolved instanceof protobuf.Enum ? 'enum' : field.type;
    const converted = values.map((v) => queryScalar(leafType, v));
    if (field.repeated) obj[key] = converted;
    else {
      if (converted.length > 1) return `"${seg}" is not repeated but was given ${converted.length} times`;
      obj[key] = converted[0] as Json;
    }
  }
  return undefined;
}

const STRING_FORM = new Set([
  'google.protobuf.Timestamp', 'google.protobuf.Duration', 'google.protobuf.FieldMask',
  'google.protobuf.DoubleValue', 'google.protobuf.FloatValue', 'google.protobuf.Int64Value', 'google.protobuf.UInt64Value',
  'google.protobuf.Int32Value', 'google.protobuf.UInt32Value', 'google.protobuf.BoolValue', 'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
]);

function wrapperInner(type: protobuf.Type): string {
  return type.fields['value']?.type ?? 'string';
}

function queryScalar(type: string, value: string): Json {
  if (type === 'bool') return value === 'true' ? true : value === 'false' ? false : value;
  if (type === 'enum' && /^-?\d+$/.test(value)) return Number(value);
  return value;
}
