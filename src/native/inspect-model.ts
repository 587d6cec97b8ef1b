import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { ModelFolder } from '../onnx/external-data.js';
import { CorruptModelError, errorMessage } from '../errors/index.js';
import type { ModelInfo } from '../release/types.js';
import { readModelHeader } from '../onnx/model-header.js';
import { callNativeRuntime, nativeMemoryBytesFromEnv, type NativeLimits } from './isolated-runtime.js';

/** Loading a multi-GiB model takes a while; a hang is still caught. */
export const INSPECT_TIMEOUT_MS = 5 * 60_000;

/**
 * Proves the model parses by loading it in onnxruntime-node (in a child process under a memory
 * ceiling and a deadline), and reads its I/O signature (from the runtime, so initializers never
 * pose as inputs) and its header (from the bytes).
 *
 * `folder` is the model folder `path` sits in, with its list of files: the model's external data
 * must resolve to those (ExternalDataRefusedError otherwise). Without it the folder is taken to
 * hold the model file alone, so a model with external data is refused.
 */
export async function inspectOnnxModel(path: string, limits: Partial<NativeLimits> = {}, signal?: AbortSignal, folder?: ModelFolder): Promise<ModelInfo> {
  const name = basename(path);
  const bytes = await readFile(path);
  const modelFolder = folder ?? { dir: dirname(path), modelFile: name, files: [{ path: name, size: (await stat(path)).size }] };
  let header;
  try {
    header = readModelHeader(bytes);
  } catch (err) {
    throw new CorruptModelError(`${name} is not a valid ONNX model: ${errorMessage(err)}`);
  }
  const reply = await callNativeRuntime(
    { op: 'inspect', model: bytes },
    { memoryBytes: limits.memoryBytes ?? nativeMemoryBytesFromEnv(), timeoutMs: limits.timeoutMs ?? INSPECT_TIMEOUT_MS },
    signal,
    modelFolder,
  );
  if (!reply.ok) throw new CorruptModelError(`onnxruntime-node cannot load ${name}: ${reply.message.slice(0, 500)}`);
  if (reply.op !== 'inspect') throw new CorruptModelError(`onnxruntime's child process answered a ${reply.op} request instead of inspect for ${name}`);
  return {
    format: 'onnx',
    irVersion: header.irVersion,
    opsets: header.opsets,
    producer: header.producer,
    inputs: [...reply.signature.inputs],
    outputs: [...reply.signature.outputs],
  };
}
