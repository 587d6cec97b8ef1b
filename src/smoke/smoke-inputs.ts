import { readDeclaredInputs, type DeclaredInput } from '../onnx/declared-shapes.js';
import type { SmokeOptions, TensorSignature } from '../release/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { generateInputs } from './test-inputs.js';
import { readInputsFile } from './inputs-file.js';
import { smokeSpecProblems } from './input-spec.js';
import { SmokeInputError } from '../errors/index.js';
import { readSmokeData, type SmokeDataFile } from './smoke-data.js';

export interface SmokeRunData {
  readonly inputs: Tensor[];
  /** With `dataPath`: the outputs the user expects for these inputs, and the files they came from. */
  readonly expected?: { readonly tensors: Tensor[]; readonly files: SmokeDataFile[] };
}

/**
 * The smoke stage's inputs: the user's file when the request names one, else generated from
 * the seed and the user's shapes, dimension sizes and integer ranges; both checked against the
 * shapes the model file declares.
 */
export async function smokeInputs(model: Uint8Array, signature: readonly TensorSignature[], options: SmokeOptions): Promise<Tensor[]> {
  return (await smokeRunData(model, { inputs: signature, outputs: [] }, options, false)).inputs;
}

/**
 * The inputs, and with `dataPath` the expected outputs: from the user's reference data
 * (smoke-data.ts), else as smokeInputs.
 */
export async function smokeRunData(
  model: Uint8Array,
  signature: { readonly inputs: readonly TensorSignature[]; readonly outputs: readonly TensorSignature[] },
  options: SmokeOptions,
  withExpected = true,
): Promise<SmokeRunData> {
  const problems = smokeSpecProblems(options as Record<string, unknown>);
  if (problems.length) throw new SmokeInputError(`the release request's smoke options are invalid: ${problems.map((p) => `smoke.${p.field}: ${p.problem}`).join('; ')}`);
  let declared: DeclaredInput[] | undefined;
  try {
    declared = readDeclaredInputs(model);
  } catch {
    // onnxruntime loaded this model at export, so its signature stands on its own.
    declared = undefined;
  }
  if (options.dataPath && withExpected) {
    const data = await readSmokeData(options.dataPath, signature, declared);
    return { inputs: data.inputs, expected: { tensors: data.expected, files: data.files } };
  }
  if (options.dataPath) return { inputs: (await readSmokeData(options.dataPath, signature, declared, { inputsOnly: true })).inputs };
  if (options.inputsPath) return { inputs: await readInputsFile(options.inputsPath, signature.inputs, declared) };
  return { inputs: generateInputs(signature.inputs, options.seed ?? 1, { spec: options, ...(declared ? { declared } : {}) }) };
}
