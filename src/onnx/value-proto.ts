/**
 * ONNX SequenceProto and OptionalProto (the backend tests' files for sequence and optional
 * inputs and outputs), decoded into the engine's host values. Only what the engine holds is
 * accepted: sequences of tensors and optionals of a tensor or of such a sequence.
 */
import { fieldInt, fieldString, fields } from './protobuf-reader.js';
import { decodeTensorProto, TensorProtoError, UnsupportedTensorError } from './tensor-proto.js';
import type { Tensor, TensorType } from '../sandbox/tensor-codec.js';
import type { OptionalValue, SequenceValue } from '../sandbox/value-codec.js';

// SequenceProto / OptionalProto fields and elem_type values (onnx.proto)
const NAME = 1;
const ELEM_TYPE = 2;
const TENSOR_VALUES = 3;
const SEQUENCE_VALUE = 5;
const ELEM_TENSOR = 1;
const ELEM_SEQUENCE = 3;

/** `fallbackType`: the element type to give an empty sequence or optional (the graph's declaration). */
export function decodeSequenceProto(bytes: Uint8Array, fallbackType: TensorType): SequenceValue {
  let name = '';
  let elem = 0;
  const items: Tensor[] = [];
  for (const field of fields(bytes)) {
    if (field.number === NAME) name = fieldString(field, 'name');
    else if (field.number === ELEM_TYPE) elem = fieldInt(field, 'elem_type');
    else if (field.number === TENSOR_VALUES) items.push({ ...decodeTensorProto(field.bytes!), name: '' });
    else if (field.number > TENSOR_VALUES && field.number <= 7) throw new UnsupportedTensorError('a sequence of non-tensor values');
  }
  if (elem !== 0 && elem !== ELEM_TENSOR) throw new UnsupportedTensorError(`a sequence of elem_type ${elem}`);
  const elemType = items[0]?.type ?? fallbackType;
  if (items.some((t) => t.type !== elemType)) throw new TensorProtoError(`sequence ${name} mixes element types`);
  return { kind: 'sequence', name, elemType, items };
}

export function decodeOptionalProto(bytes: Uint8Array, fallbackType: TensorType, ofSequence: boolean): OptionalValue {
  let name = '';
  let elem = 0;
  let value: Tensor | SequenceValue | null = null;
  for (const field of fields(bytes)) {
    if (field.number === NAME) name = fieldString(field, 'name');
    else if (field.number === ELEM_TYPE) elem = fieldInt(field, 'elem_type');
    else if (field.number === TENSOR_VALUES) value = { ...decodeTensorProto(field.bytes!), name: '' };
    else if (field.number === SEQUENCE_VALUE) value = decodeSequenceProto(field.bytes!, fallbackType);
    else if (field.number === 4 || field.number === 6 || field.number === 7) throw new UnsupportedTensorError('an optional of a sparse tensor, map or optional');
  }
  const seq = value ? !('type' in value) : elem === ELEM_SEQUENCE || ofSequence;
  const elemType = value ? ('type' in value ? value.type : value.elemType) : fallbackType;
  return { kind: 'optional', name, elemType, ofSequence: seq, value };
}
