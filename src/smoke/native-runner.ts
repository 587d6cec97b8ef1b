import ort from 'onnxruntime-node';
import { typedValues, type Tensor, type TensorType } from '../sandbox/tensor-codec.js';
import { NativeInferenceError } from './errors.js';

const ORT_TYPES: Partial<Record<TensorType, ort.Tensor.Type>> = { float32: 'float32', int64: 'int64', int32: 'int32', uint8: 'uint8', int8: 'int8', bool: 'bool', float64: 'float64' };

/** The reference: the same model and inputs through onnxruntime-node, outputs in graph order. */
export async function runNative(model: Uint8Array, inputs: readonly Tensor[]): Promise<Tensor[]> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, { logSeverityLevel: 4 });
  } catch (err) {
    throw new NativeInferenceError(`onnxruntime-node cannot load the model: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) {
      const type = ORT_TYPES[t.type];
      if (!type) throw new NativeInferenceError(`input ${t.name}: type ${t.type} is not supported`);
      feeds[t.name] = new ort.Tensor(type, typedValues(t), [...t.dims]);
    }
    const results = await session.run(feeds);
    return session.outputNames.map((name) => {
      const value = results[name]!;
      const type = value.type as TensorType;
      if (!ORT_TYPES[type]) throw new NativeInferenceError(`output ${name}: type ${value.type} is not supported`);
      const data = value.data as ArrayBufferView;
      return { name, type, dims: [...value.dims], data: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
    });
  } catch (err) {
    if (err instanceof NativeInferenceError) throw err;
    throw new NativeInferenceError(`onnxruntime-node failed to run the model: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    await session.release();
  }
}
