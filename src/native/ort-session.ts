/**
 * One request against onnxruntime-node: load the model, then report its signature or run it.
 * The worker calls this only inside its child process (child.ts); the bench calls it in-process
 * as the native peer.
 */
import ort from 'onnxruntime-node';
import type { NativeFailurePhase, NativeReply, NativeRequest, NativeTensor } from './protocol.js';
import type { TensorSignature } from '../release/types.js';

type ArrayMaker = (buffer: ArrayBuffer) => ort.Tensor.DataType;

/** onnxruntime-node's element types with the typed array each takes, by its own spelling. */
const ARRAYS: Readonly<Record<string, ArrayMaker>> = {
  float32: (b) => new Float32Array(b),
  float64: (b) => new Float64Array(b),
  float16: (b) => new Uint16Array(b),
  int8: (b) => new Int8Array(b),
  uint8: (b) => new Uint8Array(b),
  int16: (b) => new Int16Array(b),
  uint16: (b) => new Uint16Array(b),
  int32: (b) => new Int32Array(b),
  uint32: (b) => new Uint32Array(b),
  int64: (b) => new BigInt64Array(b),
  uint64: (b) => new BigUint64Array(b),
  bool: (b) => new Uint8Array(b),
};

class PhaseError extends Error {
  constructor(
    readonly phase: NativeFailurePhase,
    message: string,
  ) {
    super(message);
  }
}

/** The first line of an error's message, bounded: onnxruntime's messages carry long stacks. */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 1000);
}

function toOrt(t: NativeTensor): ort.Tensor {
  const make = ARRAYS[t.type];
  if (!make) throw new PhaseError('input', `input ${t.name}: onnxruntime-node takes no ${t.type} tensors`);
  // A copy starting at offset 0: typed arrays need aligned, exact-size buffers.
  const bytes = new Uint8Array(t.data);
  return new ort.Tensor(t.type as ort.Tensor.Type, make(bytes.buffer), [...t.dims]);
}

function fromOrt(name: string, value: ort.Tensor): NativeTensor {
  if (!ARRAYS[value.type]) throw new PhaseError('output', `output ${name}: onnxruntime-node returned a ${value.type} tensor, which smoke cannot compare`);
  const data = value.data as ArrayBufferView;
  return { name, type: value.type, dims: [...value.dims], data: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

function signatureOf(meta: ort.InferenceSession.ValueMetadata): TensorSignature {
  if (!meta.isTensor) return { name: meta.name, type: 'non-tensor', shape: [] };
  return { name: meta.name, type: meta.type, shape: [...meta.shape] };
}

/**
 * onnxruntime resolves a model's external data against the model file's folder when it loads a
 * path, and against the process's working directory when it loads bytes, unless this session
 * option names the folder. Loading the verified bytes with it set reads external data from the
 * bundle only (onnxruntime still refuses absolute and `..` locations within it).
 */
export function externalDataOptions(dir: string | undefined): Pick<ort.InferenceSession.SessionOptions, 'extra'> {
  return dir === undefined ? {} : { extra: { session: { model_external_initializers_file_folder_path: dir } } };
}

export async function answerNativeRequest(request: NativeRequest): Promise<NativeReply> {
  let session: ort.InferenceSession;
  try {
    const external = request.externalData ? { externalData: request.externalData.map(({ path, data }) => ({ path, data })) } : externalDataOptions(request.externalDataDir);
    session = await ort.InferenceSession.create(request.model, { logSeverityLevel: 4, ...external });
  } catch (err) {
    return { ok: false, phase: 'load', message: firstLine(err) };
  }
  try {
    if (request.op === 'inspect') {
      return { ok: true, op: 'inspect', signature: { inputs: session.inputMetadata.map(signatureOf), outputs: session.outputMetadata.map(signatureOf) } };
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of request.inputs) feeds[t.name] = toOrt(t);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await session.run(feeds);
    } catch (err) {
      throw new PhaseError('run', firstLine(err));
    }
    return { ok: true, op: 'run', outputs: session.outputNames.map((name) => fromOrt(name, results[name]!)) };
  } catch (err) {
    if (err instanceof PhaseError) return { ok: false, phase: err.phase, message: err.message };
    return { ok: false, phase: 'run', message: firstLine(err) };
  } finally {
    await session.release().catch(() => undefined);
  }
}

