/**
 * Protobuf binary ↔ wire JSON for the gRPC side. A body that does not decode is answered with
 * INVALID_ARGUMENT naming the field where decoding went wrong (found by re-walking the bytes).
 */
import protobuf from 'protobufjs';
import { KumoError, invalidArgument } from '../shared/errors.js';
import type { JsonObject } from './json.types.js';
import { TO_OBJECT, jsonToObject, objectToJson } from './json-codec.js';

const WIRE_OF: Record<string, number> = {
  double: 1, fixed64: 1, sfixed64: 1, float: 5, fixed32: 5, sfixed32: 5,
  int32: 0, int64: 0, uint32: 0, uint64: 0, sint32: 0, sint64: 0, bool: 0,
  string: 2, bytes: 2,
};

function expectedWire(field: protobuf.Field): number {
  if (field instanceof protobuf.MapField) return 2;
  if (field.resolvedType instanceof protobuf.Type) return 2;
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  return WIRE_OF[field.type] ?? 2;
}

/** Walk `reader` up to `end` and describe the first thing that cannot be decoded. */
function locate(type: protobuf.Type, reader: protobuf.Reader, end: number, path: string, depth: number): string | undefined {
  if (depth > 64) return `${path || 'message'}: nested deeper than 64 levels`;
  while (reader.pos < end) {
    const at = reader.pos;
    let tag: number;
    try {
      tag = reader.uint32();
    } catch {
      return `${path || 'message'}: truncated field tag at byte ${at}`;
    }
    const id = tag >>> 3;
    const wire = tag & 7;
    const field = type.fieldsById[id];
    const name = field ? (path ? `${path}.${field.name}` : field.name) : `${path ? `${path}.` : ''}#${id}`;
    if (id === 0) return `${path || 'message'}: field number 0 at byte ${at} is not valid protobuf`;
    if (wire === 6 || wire === 7) return `${name}: invalid wire type ${wire} at byte ${at}`;
    if (field) {
      const want = expectedWire(field);
      const packedOk = field.repeated && wire === 2 && want !== 2;
      if (wire !== want && !packedOk) return `${name}: wire type ${wire} at byte ${at}, but ${field.type} is sent with wire type ${want}`;
      if (wire === 2 && field.resolvedType instanceof protobuf.Type && !(field instanceof protobuf.MapField)) {
        let len: number;
        try {
          len = reader.uint32();
        } catch {
          return `${name}: truncated length at byte ${reader.pos}`;
        }
        if (reader.pos + len > end) return `${name}: says ${len} bytes but only ${end - reader.pos} remain`;
        const inner = locate(field.resolvedType, reader, reader.pos + len, name, depth + 1);
        if (inner) return inner;
        continue;
      }
    }
    try {
      reader.skipType(wire);
    } catch {
      return `${name}: truncated value at byte ${at}`;
    }
    if (reader.pos > end) return `${name}: runs past the end of its enclosing message`;
  }
  return undefined;
}

/** Decode a protobuf request body into wire JSON, or throw INVALID_ARGUMENT naming the field. */
export function decodeToJson(root: protobuf.Root, type: protobuf.Type, bytes: Uint8Array): JsonObject {
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (err) {
    const where = locate(type, protobuf.Reader.create(bytes), bytes.length, '', 0);
    const field = where?.split(':')[0] ?? 'body';
    const description = where ? where.slice(field.length + 2) : `not a valid ${type.fullName.slice(1)} message (${err instanceof Error ? err.message : String(err)})`;
    throw invalidArgument([{ field, description: `${description}; the body is not a valid ${type.fullName.slice(1)}` }]);
  }
  return objectToJson(root, type, type.toObject(message, TO_OBJECT));
}

/** Encode wire JSON (as handlers return it) into protobuf bytes; a bad field is a kumo bug. */
export function encodeFromJson(root: protobuf.Root, type: protobuf.Type, json: JsonObject): Uint8Array {
  try {
    return type.encode(type.fromObject(jsonToObject(root, type, json))).finish();
  } catch (err) {
    if (err instanceof KumoError) {
      throw new KumoError('INTERNAL', `kumo built an invalid ${type.fullName.slice(1)}: ${err.message}`, {}, { cause: err });
    }
    throw err;
  }
}
