import type { TensorSignature } from '../release/types.js';
import type { DeclaredInput } from '../onnx/declared-shapes.js';
import { ELEMENT_BYTES, elementCount, type Tensor, type TensorType } from '../tensor/tensor.js';
import { seededRandom } from './seeded-random.js';
import { SmokeInputError } from '../errors/index.js';
import { INTEGER_RANGES, isFloat, tensorTypeOf } from './element-values.js';
import { numberToHalf } from '../tensor/half-float.js';

export { tensorTypeOf };
import { MAX_GENERATED_ELEMENTS, type IntRange, type SmokeInputSpec } from './input-spec.js';
import { resolveInputShapes } from './input-shapes.js';

export { SYMBOLIC_DIM_SIZE } from './input-shapes.js';
export { readInputsFile } from './inputs-file.js';

/** Generated integer inputs are in 0..3 unless the user gives a range: small, so index-like inputs stay in range. */
export const DEFAULT_INT_RANGE: IntRange = { min: 0, max: 3 };

export interface GenerateOptions {
  /** Shapes, symbolic dimension sizes and integer ranges the user gave. */
  readonly spec?: SmokeInputSpec;
  /** The model file's own input declarations (tell a scalar from an unknown rank). */
  readonly declared?: readonly DeclaredInput[];
}

/**
 * Deterministic inputs for a model's input signature, from the seed: floats (float16, float32,
 * float64) uniform in [-1, 1), integers uniform in their range (default 0..3, or the user's),
 * bools 0 or 1; shapes from resolveInputShapes.
 */
export function generateInputs(signature: readonly TensorSignature[], seed: number, options: GenerateOptions = {}): Tensor[] {
  const spec = options.spec ?? {};
  const names = new Set(signature.map((s) => s.name));
  for (const name of Object.keys(spec.intRanges ?? {})) {
    if (!names.has(name)) throw new SmokeInputError(`smoke intRanges name ${JSON.stringify(name)}, which is not an input of the model (inputs: ${[...names].join(', ')})`);
  }
  const shapes = resolveInputShapes(signature, options.declared, spec);
  const random = seededRandom(seed);
  return signature.map((input, i) => {
    const type = tensorTypeOf(input);
    const dims = shapes[i]!;
    const n = elementCount(dims);
    if (n > MAX_GENERATED_ELEMENTS) {
      throw new SmokeInputError(`input ${input.name}: shape [${dims.join(', ')}] has ${n} elements, more than ${MAX_GENERATED_ELEMENTS} for a smoke input; give a smaller shape with --smoke-shape ${input.name}=... (smoke.shapes)`);
    }
    const out = Buffer.alloc(n * ELEMENT_BYTES[type]);
    if (isFloat(type)) {
      for (let k = 0; k < n; k++) {
        const v = random() * 2 - 1;
        if (type === 'float32') out.writeFloatLE(v, k * 4);
        else if (type === 'float64') out.writeDoubleLE(v, k * 8);
        else out.writeUInt16LE(numberToHalf(v), k * 2);
      }
    } else {
      const range = integerRange(input.name, type, spec);
      const span = range.max - range.min + 1;
      const wide = ELEMENT_BYTES[type] === 8;
      for (let k = 0; k < n; k++) {
        const v = range.min + Math.floor(random() * span);
        writeInteger(out, type, k, wide ? BigInt(v) : v);
      }
    }
    return { name: input.name, type, dims, data: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) };
  });
}

function integerRange(input: string, type: TensorType, spec: SmokeInputSpec): IntRange {
  const own = spec.intRanges?.[input];
  // The model-wide range is for integer inputs; a bool input is 0 or 1 unless given its own.
  if (type === 'bool' && !own) return { min: 0, max: 1 };
  const range = own ?? spec.intRange ?? DEFAULT_INT_RANGE;
  const [min, max] = INTEGER_RANGES[type]!;
  if (BigInt(range.min) < min || BigInt(range.max) > max) {
    const where = own ? `smoke intRanges["${input}"]` : spec.intRange ? 'smoke intRange' : 'the default range';
    throw new SmokeInputError(`input ${input} of type ${type}: ${where} ${range.min}:${range.max} is outside the type's ${min}..${max}; set one that fits with --smoke-int-range ${input}=MIN:MAX`);
  }
  return range;
}

function writeInteger(out: Buffer, type: TensorType, k: number, v: number | bigint): void {
  switch (type) {
    case 'bool':
    case 'uint8':
      out.writeUInt8(v as number, k);
      return;
    case 'int8':
      out.writeInt8(v as number, k);
      return;
    case 'int16':
      out.writeInt16LE(v as number, k * 2);
      return;
    case 'uint16':
      out.writeUInt16LE(v as number, k * 2);
      return;
    case 'int32':
      out.writeInt32LE(v as number, k * 4);
      return;
    case 'uint32':
      out.writeUInt32LE(v as number, k * 4);
      return;
    case 'int64':
      out.writeBigInt64LE(v as bigint, k * 8);
      return;
    case 'uint64':
      out.writeBigUInt64LE(v as bigint, k * 8);
      return;
    default:
      throw new SmokeInputError(`cannot generate integers of type ${type}`);
  }
}
