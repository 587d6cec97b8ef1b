import { fieldInt, fieldString, fields, ProtobufError } from './protobuf-reader.js';
import type { OpsetImport } from '../release/types.js';

export interface OnnxModelHeader {
  readonly irVersion: number;
  readonly opsets: readonly OpsetImport[];
  readonly producer: { readonly name: string; readonly version: string };
  readonly hasGraph: boolean;
}

// ModelProto field numbers (onnx.proto3).
const IR_VERSION = 1;
const PRODUCER_NAME = 2;
const PRODUCER_VERSION = 3;
const GRAPH = 7;
const OPSET_IMPORT = 8;
// OperatorSetIdProto
const OPSET_DOMAIN = 1;
const OPSET_VERSION = 2;

/** Reads what onnxruntime does not report: IR version, opset imports and producer. */
export function readModelHeader(bytes: Uint8Array): OnnxModelHeader {
  let irVersion: number | undefined;
  let producerName = '';
  let producerVersion = '';
  let hasGraph = false;
  const opsets: OpsetImport[] = [];
  for (const field of fields(bytes)) {
    switch (field.number) {
      case IR_VERSION:
        irVersion = fieldInt(field, 'ir_version');
        break;
      case PRODUCER_NAME:
        producerName = fieldString(field, 'producer_name');
        break;
      case PRODUCER_VERSION:
        producerVersion = fieldString(field, 'producer_version');
        break;
      case GRAPH:
        hasGraph = field.bytes !== undefined;
        break;
      case OPSET_IMPORT: {
        if (!field.bytes) throw new ProtobufError('opset_import is not a message');
        let domain = '';
        let version: number | undefined;
        for (const f of fields(field.bytes)) {
          if (f.number === OPSET_DOMAIN) domain = fieldString(f, 'opset_import.domain');
          else if (f.number === OPSET_VERSION) version = fieldInt(f, 'opset_import.version');
        }
        if (version === undefined) throw new ProtobufError('opset_import without a version');
        opsets.push({ domain: domain === '' ? 'ai.onnx' : domain, version });
        break;
      }
    }
  }
  if (irVersion === undefined) throw new ProtobufError('no ir_version: this is not an ONNX ModelProto');
  if (!hasGraph) throw new ProtobufError('no graph: this is not an ONNX ModelProto');
  return { irVersion, opsets, producer: { name: producerName, version: producerVersion }, hasGraph };
}
