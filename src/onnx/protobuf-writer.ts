/**
 * Re-encoding protobuf messages field by field, for the host's rewrites of a model's bytes
 * (sandbox fix-ups, inlined external data). Only the fields an edit touches are re-encoded with
 * new lengths; untouched messages are never copied.
 */
import { fields, WireType, type Field } from './protobuf-reader.js';

/** undefined keeps the field, null drops it, bytes replace a length-delimited field's payload. */
export type FieldEdit = (f: Field) => Uint8Array | null | undefined;

/** `buf` with `edit` applied to each field, or undefined when nothing changed. */
export function rewriteMessage(buf: Uint8Array, edit: FieldEdit): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  let changed = false;
  for (const f of fields(buf)) {
    const replaced = edit(f);
    if (replaced === null) {
      changed = true;
      continue;
    }
    if (replaced !== undefined) changed = true;
    parts.push(...encodeField(f, replaced ?? f.bytes));
  }
  return changed ? Buffer.concat(parts) : undefined;
}

/** A field's wire bytes (key, then value), with `payload` as a length-delimited field's bytes. */
export function encodeField(f: Pick<Field, 'number' | 'wireType' | 'varint' | 'fixed'>, payload?: Uint8Array): Uint8Array[] {
  const key = varint((BigInt(f.number) << 3n) | BigInt(f.wireType));
  switch (f.wireType) {
    case WireType.VARINT:
      return [key, varint(f.varint!)];
    case WireType.LENGTH_DELIMITED:
      return [key, varint(BigInt(payload!.length)), payload!];
    default:
      return [key, f.fixed!];
  }
}

function varint(value: bigint): Uint8Array {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? byte | 0x80 : byte);
  } while (v);
  return Uint8Array.from(out);
}
