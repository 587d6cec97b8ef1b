import { callNativeRuntime, nativeMemoryBytesFromEnv, type NativeLimits } from '../native/isolated-runtime.js';
import { ONNX_DATA_TYPE, type Tensor, type TensorType } from '../tensor/tensor.js';
import { NativeInferenceError } from '../errors/index.js';
import type { InMemoryExternalData, ModelFolder } from '../onnx/external-data.js';

const PHASE_WORDING = { load: 'cannot load the model', input: 'refused an input', run: 'failed to run the model', output: 'returned an output smoke cannot compare' } as const;

/**
 * The reference: the same model and inputs through onnxruntime-node, in a child process under a
 * memory ceiling (MODELSHIP_NATIVE_MEMORY_MIB) and the smoke deadline; outputs in graph order.
 * `external` is where the external data comes from: a verified bundle's bytes, or a model folder
 * whose file list it resolves against and is read from. Without it, a model with external data
 * is refused (ExternalDataRefusedError).
 */
export async function runNative(
  model: Uint8Array,
  inputs: readonly Tensor[],
  limits: Partial<NativeLimits> & Pick<NativeLimits, 'timeoutMs'>,
  signal?: AbortSignal,
  external?: ModelFolder | InMemoryExternalData,
): Promise<Tensor[]> {
  const reply = await callNativeRuntime({ op: 'run', model, inputs }, { memoryBytes: limits.memoryBytes ?? nativeMemoryBytesFromEnv(), timeoutMs: limits.timeoutMs }, signal, external);
  if (!reply.ok) throw new NativeInferenceError(`onnxruntime-node ${PHASE_WORDING[reply.phase]}: ${reply.message}`);
  if (reply.op !== 'run') throw new NativeInferenceError(`onnxruntime's child process answered a ${reply.op} request instead of run`);
  return reply.outputs.map((t) => {
    if (!(t.type in ONNX_DATA_TYPE)) throw new NativeInferenceError(`output ${t.name}: type ${t.type} is not supported`);
    return { ...t, type: t.type as TensorType };
  });
}
