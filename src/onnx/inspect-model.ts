import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import ort from 'onnxruntime-node';
import { CorruptModelError, errorMessage } from '../errors.js';
import type { ModelInfo, TensorSignature } from '../release/types.js';
import { readModelHeader } from './model-header.js';

/**
 * Proves the model parses by loading it in onnxruntime-node, and reads its I/O signature
 * (from the runtime, so initializers never pose as inputs) and its header (from the bytes).
 */
export async function inspectOnnxModel(path: string): Promise<ModelInfo> {
  const name = basename(path);
  const bytes = await readFile(path);
  let header;
  try {
    header = readModelHeader(bytes);
  } catch (err) {
    throw new CorruptModelError(`${name} is not a valid ONNX model: ${errorMessage(err)}`);
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4 });
  } catch (err) {
    throw new CorruptModelError(`onnxruntime-node cannot load ${name}: ${firstLine(errorMessage(err))}`);
  }
  try {
    return {
      format: 'onnx',
      irVersion: header.irVersion,
      opsets: header.opsets,
      producer: header.producer,
      inputs: session.inputMetadata.map(signatureOf),
      outputs: session.outputMetadata.map(signatureOf),
    };
  } finally {
    await session.release();
  }
}

function signatureOf(meta: ort.InferenceSession.ValueMetadata): TensorSignature {
  if (!meta.isTensor) return { name: meta.name, type: 'non-tensor', shape: [] };
  return { name: meta.name, type: meta.type, shape: [...meta.shape] };
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 500);
}
