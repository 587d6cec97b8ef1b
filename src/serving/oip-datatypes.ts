import type ort from 'onnxruntime-node';

/** Open Inference Protocol (KServe v2 / Triton) tensor datatypes. */
export type OipDatatype = 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

interface DatatypeInfo {
  /** onnxruntime's name of the element type. */
  readonly ort: ort.Tensor.Type;
  /** Bytes per element in the binary extension; BYTES elements are length-prefixed instead. */
  readonly size: number | undefined;
}

export const OIP_DATATYPES: Readonly<Record<OipDatatype, DatatypeInfo>> = {
  BOOL: { ort: 'bool', size: 1 },
  UINT8: { ort: 'uint8', size: 1 },
  UINT16: { ort: 'uint16', size: 2 },
  UINT32: { ort: 'uint32', size: 4 },
  UINT64: { ort: 'uint64', size: 8 },
  INT8: { ort: 'int8', size: 1 },
  INT16: { ort: 'int16', size: 2 },
  INT32: { ort: 'int32', size: 4 },
  INT64: { ort: 'int64', size: 8 },
  FP16: { ort: 'float16', size: 2 },
  FP32: { ort: 'float32', size: 4 },
  FP64: { ort: 'float64', size: 8 },
  BYTES: { ort: 'string', size: undefined },
};

const BY_ORT = new Map<string, OipDatatype>(Object.entries(OIP_DATATYPES).map(([oip, info]) => [info.ort, oip as OipDatatype]));

export function isOipDatatype(value: unknown): value is OipDatatype {
  return typeof value === 'string' && Object.hasOwn(OIP_DATATYPES, value);
}

/** The OIP datatype of an onnxruntime element type, or undefined for types the protocol has no name for. */
export function oipDatatypeOf(ortType: string): OipDatatype | undefined {
  return BY_ORT.get(ortType);
}

// IEEE 754 half precision, for FP16 in JSON (the binary form carries the 16-bit patterns as they are).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Nearest half-precision bit pattern of a number (round to nearest even; overflow to ±Infinity). */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa moves into the exponent, up to Infinity: that is the right rounding.
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** The number a half-precision bit pattern stands for. */
export function fromHalfBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
