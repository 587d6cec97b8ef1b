// IEEE 754 binary16 conversions. Float -> half rounds to nearest, ties to even, directly from
// f64 (as numpy's astype does, so no double rounding through f32); overflow gives infinity and
// NaN stays NaN (quiet, sign kept).

export function halfToF32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp == 0x1f) return reinterpret<f32>(sign | 0x7f800000 | (mant << 13));
  if (exp != 0) return reinterpret<f32>(sign | ((exp + 112) << 23) | (mant << 13));
  // zero or subnormal: mant * 2^-24 is exact in f32
  const v = <f32>mant * <f32>5.9604644775390625e-8;
  return sign != 0 ? -v : v;
}

export function f64ToHalf(v: f64): u16 {
  const b = reinterpret<u64>(v);
  const sign = <u32>(b >> 48) & 0x8000;
  const exp = <i32>((b >> 52) & 0x7ff);
  const mant = b & 0xfffffffffffff;
  if (exp == 0x7ff) return <u16>(sign | 0x7c00 | (mant != 0 ? 0x200 | <u32>(mant >> 42) : 0));
  if (exp == 0) return <u16>sign; // f64 subnormals are far below half's smallest subnormal
  const e = exp - 1023;
  if (e > 15) return <u16>(sign | 0x7c00);
  let full: u64;
  let shift: i32;
  let base: u32;
  if (e >= -14) {
    full = mant;
    shift = 42;
    base = <u32>(e + 15) << 10;
  } else {
    shift = 28 - e;
    if (shift > 53) return <u16>sign;
    full = mant | (<u64>1 << 52);
    base = 0;
  }
  const m = <u32>(full >> shift);
  const rem = full & ((<u64>1 << shift) - 1);
  const half = <u64>1 << (shift - 1);
  let h = base + m;
  // a carry out of the mantissa lands in the exponent (up to infinity), as IEEE rounding wants
  if (rem > half || (rem == half && (m & 1) != 0)) h += 1;
  return <u16>(sign | h);
}
