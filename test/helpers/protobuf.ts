// The protobuf wire format, just enough to hand-build ONNX models in tests: varints,
// length-delimited fields (bytes, strings, sub-messages) and fixed32 floats.

export type Bytes = number[];

export function varint(v: number | bigint): Bytes {
  let n = BigInt.asUintN(64, BigInt(v));
  const out: Bytes = [];
  do {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    out.push(n > 0n ? b | 0x80 : b);
  } while (n > 0n);
  return out;
}
export const pbInt = (field: number, v: number | bigint): Bytes => [...varint(field << 3), ...varint(v)];
export const pbBytes = (field: number, b: ArrayLike<number>): Bytes => [...varint((field << 3) | 2), ...varint(b.length), ...Array.from(b)];
export const pbStr = (field: number, s: string): Bytes => pbBytes(field, Buffer.from(s, 'utf8'));
export const pbMsg = (field: number, ...parts: Bytes[]): Bytes => pbBytes(field, parts.flat());
export const pbFloat = (field: number, v: number): Bytes => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return [...varint((field << 3) | 5), ...b];
};
