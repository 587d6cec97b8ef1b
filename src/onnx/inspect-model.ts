import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { CorruptModelError, errorMessage } from '../errors.js';
import type { ModelInfo } from '../release/types.js';
import { readModelHeader } from './model-header.js';
import { callNativeRuntime, nativeMemoryBytesFromEnv, type NativeLimits } from '../native/isolated-runtime.js';

/** Loading a multi-GiB model takes a while; a hang is still caught. */
export const INSPECT_TIMEOUT_MS = 5 * 60_000;

/**
 * Proves the model parses by loading it in onnxruntime-node (in a child process under a memory
 * ceiling and a deadline), and reads its I/O signature (from the runtime, so initializers never
 * pose as inputs) and its header (from the bytes).
 */
export async function inspectOnnxModel(path: string, limits: Partial<NativeLimits> = {}, signal?: AbortSignal): Promise<ModelInfo> {
  const name = basename(path);
  const bytes = await readFile(path);
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
