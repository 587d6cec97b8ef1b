/**
 * numpy's .npy format (versions 1.0, 2.0 and 3.0): the magic "\x93NUMPY", a version, a header
 * length, a Python dict literal { 'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), },
 * then the raw elements. Read into the sandbox's Tensor: little-endian, C order (big-endian and
 * Fortran-order arrays are converted); object, string and structured dtypes are refused.
 */
import { ELEMENT_BYTES, elementCount, type TensorType } from '../tensor/tensor.js';

export class NpyError extends Error {}

export interface NpyArray {
  readonly type: TensorType;
  readonly dims: number[];
  /** Little-endian, row-major. */
  readonly data: Uint8Array;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** numpy's dtype codes (kind + size) for the ONNX element types. */
const DTYPES: Readonly<Record<string, TensorType>> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  u1: 'uint8',
  i2: 'int16',
  u2: 'uint16',
  i4: 'int32',
  u4: 'uint32',
  i8: 'int64',
  u8: 'uint64',
  b1: 'bool',
};

export function parseNpy(bytes: Uint8Array): NpyArray {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new NpyError('not a .npy file (no \\x93NUMPY magic)');
  const major = buf[6]!;
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = buf.readUInt16LE(8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new NpyError('truncated .npy header');
    headerLength = buf.readUInt32LE(8);
    headerStart = 12;
  } else throw new NpyError(`.npy format version ${major}.${buf[7]} is not supported (1.0, 2.0, 3.0)`);
  if (headerStart + headerLength > buf.length) throw new NpyError('truncated .npy header');
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', headerStart, headerStart + headerLength);

  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  if (descr === undefined) throw new NpyError(`the .npy header has no simple 'descr' (structured arrays are not supported): ${header.trim().slice(0, 120)}`);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  if (fortran === undefined) throw new NpyError(`the .npy header has no 'fortran_order': ${header.trim().slice(0, 120)}`);
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw new NpyError(`the .npy header has no 'shape': ${header.trim().slice(0, 120)}`);
  const dims = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      if (!/^\d+L?$/.test(s)) throw new NpyError(`bad dimension ${JSON.stringify(s)} in the .npy shape (${shapeText})`);
      return Number(s.replace(/L$/, ''));
    });

  const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr);
  const type = m ? DTYPES[`${m[2]}${m[3]}`] : undefined;
  if (!m || !type) throw new NpyError(`numpy dtype ${JSON.stringify(descr)} has no ONNX element type here (float16/32/64, int8/16/32/64, uint8/16/32/64, bool)`);
  const width = ELEMENT_BYTES[type];
  const count = elementCount(dims);
  const byteLength = count * width;
  const dataStart = headerStart + headerLength;
  if (buf.length - dataStart !== byteLength) throw new NpyError(`shape (${dims.join(', ')}) of ${descr} needs ${byteLength} data bytes, the file has ${buf.length - dataStart}`);
  let data: Uint8Array = Uint8Array.from(buf.subarray(dataStart));
  if (m[1] === '>' && width > 1) {
    for (let i = 0; i < data.length; i += width) data.subarray(i, i + width).reverse();
  }
  if (type === 'bool' && data.some((b) => b > 1)) throw new NpyError('a bool array holds bytes other than 0 and 1');
  if (fortran === 'True' && dims.length > 1) data = fortranToC(data, dims, width);
  return { type, dims, data };
}

/** Column-major (first index fastest) to row-major. */
function fortranToC(data: Uint8Array, dims: readonly number[], width: number): Uint8Array {
  const out = new Uint8Array(data.length);
  const rank = dims.length;
  const fStrides = new Array<number>(rank);
  let s = 1;
  for (let k = 0; k < rank; k++) {
    fStrides[k] = s;
    s *= dims[k]!;
  }
  const index = new Array<number>(rank).fill(0);
  const count = elementCount(dims);
  for (let c = 0; c < count; c++) {
    let f = 0;
    for (let k = 0; k < rank; k++) f += index[k]! * fStrides[k]!;
    out.set(data.subarray(f * width, f * width + width), c * width);
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k]! < dims[k]!) break;
      index[k] = 0;
    }
  }
  return out;
}
