import { readDeclaredInputs, type DeclaredInput } from '../onnx/declared-shapes.js';
import type { SmokeOptions, TensorSignature } from '../release/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { generateInputs } from './test-inputs.js';
import { readInputsFile } from './inputs-file.js';
import { smokeSpecProblems } from './input-spec.js';
import { SmokeInputError } from './errors.js';

/**
 * The smoke stage's inputs: the user's file when the request names one, else generated from
 * the seed and the user's shapes, dimension sizes and integer ranges; both checked against the
 * shapes the model file declares.
 */
export async function smokeInputs(model: Uint8Array, signature: readonly TensorSignature[], options: SmokeOptions): Promise<Tensor[]> {
  const problems = smokeSpecProblems(options as Record<string, unknown>);
  if (problems.length) throw new SmokeInputError(`the release request's smoke options are invalid: ${problems.map((p) => `smoke.${p.field}: ${p.problem}`).join('; ')}`);
  let declared: DeclaredInput[] | undefined;
  try {
    declared = readDeclaredInputs(model);
  } catch {
    // onnxruntime loaded this model at export, so its signature stands on its own.
    declared = undefined;
  }
  if (options.inputsPath) return readInputsFile(options.inputsPath, signature, declared);
  return generateInputs(signature, options.seed ?? 1, { spec: options, ...(declared ? { declared } : {}) });
}
