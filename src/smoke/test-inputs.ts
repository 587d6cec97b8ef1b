import { readFile } from 'node:fs/promises';
import type { TensorSignature } from '../release/types.js';
import { elementCount, ONNX_DATA_TYPE, type Tensor, type TensorType } from '../sandbox/tensor-codec.js';
import { seededRandom } from './seeded-random.js';
import { SmokeInputError } from './errors.js';

/** What a symbolic dimension ("batch", "N", ...) becomes in generated inputs. */
export const SYMBOLIC_DIM_SIZE = 2;

/**
 * Deterministic inputs for a model's input signature: float32 values uniform in [-1, 1),
 * int64 values in [0, 4) (small, so index-like inputs stay in range), from the seed.
 */
export function generateInputs(signature: readonly TensorSignature[], seed: number): Tensor[] {
  const random = seededRandom(seed);
  return signature.map((input) => {
    const dims = input.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : SYMBOLIC_DIM_SIZE));
    const n = elementCount(dims);
    switch (input.type) {
      case 'float32': {
        const values = new Float32Array(n);
        for (let i = 0; i < n; i++) values[i] = random() * 2 - 1;
        return { name: input.name, type: 'float32', dims, data: new Uint8Array(values.buffer) };
      }
      case 'int64': {
        const values = new BigInt64Array(n);
        for (let i = 0; i < n; i++) values[i] = BigInt(Math.floor(random() * 4));
        return { name: input.name, type: 'int64', dims, data: new Uint8Array(values.buffer) };
      }
      default:
        throw new SmokeInputError(`cannot generate smoke inputs of type ${input.type} (input ${input.name}); give inputs in the release request`);
    }
  });
}

interface JsonTensor {
  readonly type?: TensorType;
  readonly dims: readonly number[];
  readonly data: readonly (number | string)[];
}

/**
 * Inputs given with the release: a JSON file `{ "<input name>": { "type": "float32", "dims": [2, 4], "data": [...] } }`
 * (type defaults to float32; int64 data may be numbers or decimal strings).
 */
export async function readInputsFile(path: string, signature: readonly TensorSignature[]): Promise<Tensor[]> {
  let doc: Record<string, JsonTensor>;
  try {
    doc = JSON.parse(await readFile(path, 'utf8')) as Record<string, JsonTensor>;
  } catch (err) {
    throw new SmokeInputError(`cannot read smoke inputs ${path}: ${(err as Error).message}`);
  }
  return signature.map((input) => {
    const t = doc[input.name];
    if (!t) throw new SmokeInputError(`${path} has no tensor for model input ${input.name}`);
    const type = t.type ?? 'float32';
    if (!(type in ONNX_DATA_TYPE)) throw new SmokeInputError(`${path}: input ${input.name} has unknown type ${type}`);
    const n = elementCount(t.dims);
    if (!Array.isArray(t.data) || t.data.length !== n) throw new SmokeInputError(`${path}: input ${input.name} needs ${n} values for dims [${t.dims}], has ${t.data?.length}`);
    if (type === 'float32') return { name: input.name, type, dims: [...t.dims], data: new Uint8Array(Float32Array.from(t.data.map(Number)).buffer) };
    if (type === 'int64') return { name: input.name, type, dims: [...t.dims], data: new Uint8Array(BigInt64Array.from(t.data.map((v) => BigInt(v))).buffer) };
    throw new SmokeInputError(`${path}: input ${input.name} of type ${type} is not supported in input files (float32, int64)`);
  });
}
