/**
 * proto3 JSON mapping, both ways, between the wire's JSON and protobufjs's object form (the form
 * `Type.fromObject` takes and `Type.toObject({longs: String, enums: String, bytes: String})`
 * gives). Input is checked field by field: every problem is reported with its path (`service.
 * template.containers[0].ports[0].containerPort`) so a client learns exactly what to fix.
 */
import protobuf from 'protobufjs';
import { invalidArgument } from '../shared/errors.js';
import type { FieldViolation } from '../shared/errors.js';
import type { Json, JsonObject } from './json.types.js';
import { isJsonObject } from './json.types.js';
import { formatDuration, formatFieldMask, formatTimestamp, parseDuration, parseFieldMask, parseTimestamp, snakeToCamel } from './wkt.js';
import type { SecondsNanos } from './wkt.js';

export interface ToJsonOptions {
  /** `$alt=json;enum-encoding=int`: enums as numbers instead of names. */
  enumsAsInts?: boolean;
}

type ObjectForm = Record<string, unknown>;

const WRAPPERS = new Set([
  'google.protobuf.DoubleValue', 'google.protobuf.FloatValue', 'google.protobuf.Int64Value',
  'google.protobuf.UInt64Value', 'google.protobuf.Int32Value', 'google.protobuf.UInt32Value',
  'google.protobuf.BoolValue', 'google.protobuf.StringValue', 'google.protobuf.BytesValue',
]);
const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32_RANGE: Record<string, [number, number]> = {
  int32: [-2147483648, 2147483647], sint32: [-2147483648, 2147483647], sfixed32: [-2147483648, 2147483647],
  uint32: [0, 4294967295], fixed32: [0, 4294967295],
};

function fullName(t: protobuf.ReflectionObject): string {
  return t.fullName.startsWith('.') ? t.fullName.slice(1) : t.fullName;
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/** The JSON name of a field (its `json_name` option, else lowerCamelCase). */
export function jsonNameOf(field: protobuf.Field): string {
  const options: Record<string, unknown> | undefined = field.options;
  const explicit = options?.['json_name'];
  return typeof explicit === 'string' ? explicit : field.name;
}

/** Find a field by its JSON name or its proto (snake_case) name. */
export function findField(type: protobuf.Type, key: string): protobuf.Field | undefined {
  return type.fields[key] ?? type.fields[snakeToCamel(key)] ?? type.fieldsArray.find((f) => jsonNameOf(f) === key);
}

class Reader {
  readonly violations: FieldViolation[] = [];
  constructor(private readonly root: protobuf.Root) {}

  fail(field: string, description: string): undefined {
    this.violations.push({ field: field || 'body', description });
    return undefined;
  }

  message(type: protobuf.Type, json: unknown, path: string): ObjectForm | undefined {
    const name = fullName(type);
    const special = this.wellKnown(name, type, json, path);
    if (special !== NOT_SPECIAL) return special as ObjectForm | undefined;
    if (!isJsonObject(json)) return this.fail(path, `expected a JSON object (${name}), got ${describe(json)}`);
    const out: ObjectForm = {};
    const seenOneofs = new Map<string, string>();
    for (const [key, value] of Object.entries(json)) {
      const field = findField(type, key);
      if (!field) {
        this.fail(join(path, key), `unknown field "${key}" in ${name}`);
        continue;
      }
      if (value === null && fullName(field.resolvedType ?? field) !== 'google.protobuf.Value') continue;
      const fpath = join(path, jsonNameOf(field));
      if (field.partOf) {
        const other = seenOneofs.get(field.partOf.name);
        if (other !== undefined) this.fail(fpath, `only one of ${other} and ${jsonNameOf(field)} may be set (oneof ${field.partOf.name})`);
        seenOneofs.set(field.partOf.name, jsonNameOf(field));
      }
      const converted = this.field(field, value, fpath);
      if (converted !== undefined) out[field.name] = converted;
    }
    return out;
  }

  private field(field: protobuf.Field, value: Json, path: string): unknown {
    if (field instanceof protobuf.MapField) {
      if (!isJsonObject(value)) return this.fail(path, `expected a JSON object (map<${field.keyType}, ${field.type}>), got ${describe(value)}`);
      const out: ObjectForm = {};
      for (const [k, v] of Object.entries(value)) {
        const kpath = `${path}["${k}"]`;
        if (field.keyType === 'bool' && k !== 'true' && k !== 'false') this.fail(kpath, 'map key must be "true" or "false"');
        else if (field.keyType !== 'string' && field.keyType !== 'bool' && !/^-?\d+$/.test(k)) this.fail(kpath, `map key must be an integer (${field.keyType})`);
        const converted = this.single(field, v, kpath);
        if (converted !== undefined) out[k] = converted;
      }
      return out;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) return this.fail(path, `expected a JSON array (repeated ${field.type}), got ${describe(value)}`);
      const out: unknown[] = [];
      value.forEach((item, i) => {
        const converted = this.single(field, item, `${path}[${i}]`);
        if (converted !== undefined) out.push(converted);
      });
      return out;
    }
    return this.single(field, value, path);
  }

  private single(field: protobuf.Field, value: Json, path: string): unknown {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) return this.message(resolved, value, path);
    if (resolved instanceof protobuf.Enum) return this.enumValue(resolved, value, path);
    return this.scalar(field.type, value, path);
  }

  enumValue(en: protobuf.Enum, value: Json, path: string): string | undefined {
    if (typeof value === 'string') {
      if (en.values[value] !== undefined) return value;
      return this.fail(path, `"${value}" is not a value of ${fullName(en)}; allowed: ${Object.keys(en.values).join(', ')}`);
    }
    if (typeof value === 'number' && Number.isInteger(value)) {
      const name = en.valuesById[value];
      if (name !== undefined) return name;
      return this.fail(path, `${value} is not a value of ${fullName(en)}`);
    }
    return this.fail(path, `expected an enum name or number (${fullName(en)}), got ${describe(value)}`);
  }

  scalar(type: string, value: Json, path: string): unknown {
    switch (type) {
      case 'string':
        return typeof value === 'string' ? value : this.fail(path, `expected a string, got ${describe(value)}`);
      case 'bool':
        return typeof value === 'boolean' ? value : this.fail(path, `expected true or false, got ${describe(value)}`);
      case 'bytes':
        if (typeof value === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) return Buffer.from(value, 'base64').toString('base64');
        return this.fail(path, `expected base64-encoded bytes, got ${describe(value)}`);
      case 'double':
      case 'float': {
        if (typeof value === 'number') return value;
        if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
        if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
        return this.fail(path, `expected a number, got ${describe(value)}`);
      }
      default:
        break;
    }
    const range = INT32_RANGE[type];
    if (range || LONG_TYPES.has(type)) {
      const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : undefined;
      if (text === undefined || !/^-?\d+(\.0+)?$/.test(text) || (typeof value === 'number' && !Number.isSafeInteger(value))) {
        return this.fail(path, `expected an integer (${type}${LONG_TYPES.has(type) ? ', as a JSON number or decimal string' : ''}), got ${describe(value)}`);
      }
      const integer = text.replace(/\.0+$/, '');
      if (range) {
        const n = Number(integer);
        if (n < range[0] || n > range[1]) return this.fail(path, `${integer} is out of range for ${type} (${range[0]} to ${range[1]})`);
        return n;
      }
      const big = BigInt(integer);
      const unsigned = type.startsWith('u') || type === 'fixed64';
      const [lo, hi] = unsigned ? [0n, 2n ** 64n - 1n] : [-(2n ** 63n), 2n ** 63n - 1n];
      if (big < lo || big > hi) return this.fail(path, `${integer} is out of range for ${type}`);
      return integer;
    }
    return this.fail(path, `unsupported field type ${type}`);
  }

  private wellKnown(name: string, type: protobuf.Type, json: unknown, path: string): unknown {
    switch (name) {
      case 'google.protobuf.Timestamp':
      case 'google.protobuf.Duration': {
        if (typeof json !== 'string') return this.fail(path, `expected a ${name === 'google.protobuf.Duration' ? 'duration string like "300s"' : 'RFC 3339 timestamp string'}, got ${describe(json)}`);
        const parsed = name === 'google.protobuf.Duration' ? parseDuration(json) : parseTimestamp(json);
        return parsed.ok ? parsed.value : this.fail(path, parsed.error);
      }
      case 'google.protobuf.FieldMask':
        if (typeof json !== 'string') return this.fail(path, `expected a field mask string like "template.containers,labels", got ${describe(json)}`);
        return { paths: parseFieldMask(json) };
      case 'google.protobuf.Empty':
        if (!isJsonObject(json) || Object.keys(json).length > 0) return this.fail(path, 'expected an empty JSON object {}');
        return {};
      case 'google.protobuf.Struct':
        if (!isJsonObject(json)) return this.fail(path, `expected a JSON object, got ${describe(json)}`);
        return structToObject(json, namesOf(this.root));
      case 'google.protobuf.Value':
        return valueToObject(json as Json, namesOf(this.root));
      case 'google.protobuf.ListValue':
        if (!Array.isArray(json)) return this.fail(path, `expected a JSON array, got ${describe(json)}`);
        return { values: (json as Json[]).map((x) => valueToObject(x, namesOf(this.root))) };
      case 'google.protobuf.Any':
        return this.any(json, path);
      default:
        if (WRAPPERS.has(name)) {
          const inner = type.fields['value'];
          if (!inner) return this.fail(path, `malformed wrapper type ${name}`);
          const v = this.scalar(inner.type, json as Json, path);
          return v === undefined ? undefined : { value: v };
        }
        return NOT_SPECIAL;
    }
  }

  private any(json: unknown, path: string): ObjectForm | undefined {
    if (!isJsonObject(json)) return this.fail(path, `expected a JSON object with "@type", got ${describe(json)}`);
    const typeUrl = json['@type'];
    if (typeof typeUrl !== 'string' || !typeUrl.includes('/')) return this.fail(join(path, '@type'), 'expected a type URL like "type.googleapis.com/google.cloud.run.v2.Service"');
    const inner = lookupType(this.root, typeUrl);
    if (!inner) return this.fail(join(path, '@type'), `unknown type ${typeUrl}`);
    const { ['@type']: _t, ...rest } = json;
    const isSpecial = SPECIAL_JSON.has(fullName(inner));
    const payload = isSpecial ? rest['value'] : rest;
    const obj = this.message(inner, payload, path);
    if (obj === undefined) return undefined;
    const bytes = inner.encode(inner.fromObject(obj)).finish();
    return { [namesOf(this.root).typeUrl]: typeUrl, value: Buffer.from(bytes).toString('base64') };
  }
}

const NOT_SPECIAL = Symbol('not special');
const SPECIAL_JSON = new Set([
  'google.protobuf.Timestamp', 'google.protobuf.Duration', 'google.protobuf.FieldMask', 'google.protobuf.Struct',
  'google.protobuf.Value', 'google.protobuf.ListValue', ...WRAPPERS,
]);

/**
 * Field names of the well-known types as this Root has them: protobufjs ships its own copies of
 * google/protobuf/{any,struct}.proto with snake_case names (`type_url`, `null_value`), whatever
 * `keepCase` says, so look the names up instead of assuming camelCase.
 */
interface WktNames {
  typeUrl: string; nullValue: string; numberValue: string; stringValue: string; boolValue: string; structValue: string; listValue: string;
}
const NAMES = new WeakMap<protobuf.Root, WktNames>();
function namesOf(root: protobuf.Root): WktNames {
  const cached = NAMES.get(root);
  if (cached) return cached;
  const pick = (typeName: string, camel: string): string => {
    const t = root.lookup(typeName);
    const snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    return t instanceof protobuf.Type && !t.fields[camel] && t.fields[snake] ? snake : camel;
  };
  const names: WktNames = {
    typeUrl: pick('google.protobuf.Any', 'typeUrl'),
    nullValue: pick('google.protobuf.Value', 'nullValue'),
    numberValue: pick('google.protobuf.Value', 'numberValue'),
    stringValue: pick('google.protobuf.Value', 'stringValue'),
    boolValue: pick('google.protobuf.Value', 'boolValue'),
    structValue: pick('google.protobuf.Value', 'structValue'),
    listValue: pick('google.protobuf.Value', 'listValue'),
  };
  NAMES.set(root, names);
  return names;
}

function lookupType(root: protobuf.Root, typeUrl: string): protobuf.Type | undefined {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  const found = root.lookup(name);
  return found instanceof protobuf.Type ? found : undefined;
}

function structToObject(json: JsonObject, k: WktNames): ObjectForm {
  const fields: ObjectForm = {};
  for (const [key, v] of Object.entries(json)) fields[key] = valueToObject(v, k);
  return { fields };
}

function valueToObject(json: Json, k: WktNames): ObjectForm {
  if (json === null) return { [k.nullValue]: 'NULL_VALUE' };
  if (typeof json === 'number') return { [k.numberValue]: json };
  if (typeof json === 'string') return { [k.stringValue]: json };
  if (typeof json === 'boolean') return { [k.boolValue]: json };
  if (Array.isArray(json)) return { [k.listValue]: { values: json.map((x) => valueToObject(x, k)) } };
  return { [k.structValue]: structToObject(json, k) };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${text(value)}`;
}

/**
 * Wire JSON → protobufjs object form. Throws INVALID_ARGUMENT listing every bad field, with paths
 * under `path` (the request field the JSON fills, e.g. `service` for a `body: "service"` rule).
 */
export function jsonToObject(root: protobuf.Root, type: protobuf.Type, json: unknown, path = ''): ObjectForm {
  const reader = new Reader(root);
  const out = reader.message(type, json, path);
  if (reader.violations.length > 0 || out === undefined) throw invalidArgument(reader.violations);
  return out;
}

/** Check and convert one scalar or enum (query parameters and path variables use this). */
export function jsonToFieldValue(root: protobuf.Root, field: protobuf.Field, value: Json, path: string): unknown {
  const reader = new Reader(root);
  const resolved = field.resolvedType;
  const out = resolved instanceof protobuf.Enum ? reader.enumValue(resolved, value, path)
    : resolved instanceof protobuf.Type ? reader.message(resolved, value, path)
      : reader.scalar(field.type, value, path);
  if (reader.violations.length > 0) throw invalidArgument(reader.violations);
  return out;
}

/** protobufjs object form → wire JSON (defaults omitted, int64 as strings). */
export function objectToJson(root: protobuf.Root, type: protobuf.Type, obj: ObjectForm, options: ToJsonOptions = {}): JsonObject {
  return messageToJson(root, type, obj, options) as JsonObject;
}

function messageToJson(root: protobuf.Root, type: protobuf.Type, obj: ObjectForm, options: ToJsonOptions): Json {
  const name = fullName(type);
  switch (name) {
    case 'google.protobuf.Timestamp':
      return formatTimestamp(secondsNanos(obj));
    case 'google.protobuf.Duration':
      return formatDuration(secondsNanos(obj));
    case 'google.protobuf.FieldMask':
      return formatFieldMask((obj['paths'] as string[] | undefined) ?? []);
    case 'google.protobuf.Struct':
      return structToJson(obj, namesOf(root));
    case 'google.protobuf.Value':
      return valueToJson(obj, namesOf(root));
    case 'google.protobuf.ListValue':
      return ((obj['values'] as ObjectForm[] | undefined) ?? []).map((v) => valueToJson(v, namesOf(root)));
    case 'google.protobuf.Any':
      return anyToJson(root, obj, options);
    default:
      if (WRAPPERS.has(name)) {
        const inner = type.fields['value'];
        return inner ? scalarToJson(inner.type, obj['value'] ?? defaultScalar(inner.type)) : null;
      }
  }
  const out: JsonObject = {};
  for (const field of type.fieldsArray) {
    const value = obj[field.name];
    if (value === undefined || value === null) continue;
    const key = jsonNameOf(field);
    if (field instanceof protobuf.MapField) {
      const m: JsonObject = {};
      for (const [k, v] of Object.entries(value as ObjectForm)) m[k] = singleToJson(root, field, v, options);
      out[key] = m;
    } else if (field.repeated) {
      const list = value as unknown[];
      if (list.length > 0) out[key] = list.map((v) => singleToJson(root, field, v, options));
    } else if (!isDefaultScalar(field, value)) {
      out[key] = singleToJson(root, field, value, options);
    }
  }
  return out;
}

function singleToJson(root: protobuf.Root, field: protobuf.Field, value: unknown, options: ToJsonOptions): Json {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageToJson(root, resolved, value as ObjectForm, options);
  if (resolved instanceof protobuf.Enum) {
    const n = typeof value === 'number' ? value : resolved.values[String(value)] ?? 0;
    return options.enumsAsInts ? n : resolved.valuesById[n] ?? n;
  }
  return scalarToJson(field.type, value);
}

function scalarToJson(type: string, value: unknown): Json {
  if (LONG_TYPES.has(type)) return text(value);
  if (type === 'bytes') return typeof value === 'string' ? value : Buffer.from(value as Uint8Array).toString('base64');
  if ((type === 'double' || type === 'float') && typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value as Json;
}

/** proto3 JSON leaves out scalars at their default unless the field tracks presence (`optional`). */
function isDefaultScalar(field: protobuf.Field, value: unknown): boolean {
  if (field.resolvedType instanceof protobuf.Type) return false;
  if (field.partOf || (field.options)?.['proto3_optional']) return false;
  if (field.resolvedType instanceof protobuf.Enum) return value === 0 || value === field.resolvedType.valuesById[0];
  return value === '' || value === 0 || value === false || value === '0';
}

/** A scalar from protobufjs's object form as text (longs arrive as strings, numbers or Long objects). */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value && typeof (value as { toString?: unknown }).toString === 'function') return (value as { toString(): string }).toString();
  return '';
}

function defaultScalar(type: string): unknown {
  if (type === 'string' || type === 'bytes') return '';
  if (type === 'bool') return false;
  return 0;
}

function secondsNanos(obj: ObjectForm): SecondsNanos {
  return { seconds: text(obj['seconds'] ?? '0'), nanos: Number(obj['nanos'] ?? 0) };
}

function structToJson(obj: ObjectForm, k: WktNames): JsonObject {
  const out: JsonObject = {};
  for (const [key, v] of Object.entries((obj['fields'] as Record<string, ObjectForm> | undefined) ?? {})) out[key] = valueToJson(v, k);
  return out;
}

function valueToJson(obj: ObjectForm, k: WktNames): Json {
  if (obj[k.numberValue] !== undefined) return obj[k.numberValue] as number;
  if (obj[k.stringValue] !== undefined) return obj[k.stringValue] as string;
  if (obj[k.boolValue] !== undefined) return obj[k.boolValue] as boolean;
  if (obj[k.structValue] !== undefined) return structToJson(obj[k.structValue] as ObjectForm, k);
  if (obj[k.listValue] !== undefined) return ((obj[k.listValue] as ObjectForm)['values'] as ObjectForm[] | undefined ?? []).map((v) => valueToJson(v, k));
  return null;
}

function anyToJson(root: protobuf.Root, obj: ObjectForm, options: ToJsonOptions): Json {
  const typeUrl = text(obj[namesOf(root).typeUrl] ?? '');
  const inner = lookupType(root, typeUrl);
  if (!inner) return { '@type': typeUrl, value: scalarToJson('bytes', obj['value'] ?? '') };
  const raw = obj['value'];
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'base64') : (raw as Uint8Array | undefined) ?? new Uint8Array();
  const decoded = inner.toObject(inner.decode(bytes), TO_OBJECT);
  const json = messageToJson(root, inner, decoded, options);
  if (SPECIAL_JSON.has(fullName(inner))) return { '@type': typeUrl, value: json };
  return { '@type': typeUrl, ...(json as JsonObject) };
}

/** The protobufjs `toObject` options whose output `objectToJson` takes. */
export const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: false, arrays: false, objects: false, oneofs: false };
