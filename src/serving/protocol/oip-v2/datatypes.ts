import type ort from 'onnxruntime-node';

/** Open Inference Protocol (KServe v2 / Triton) tensor datatypes. */
export type OipDatatype = 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

interface DatatypeInfo {
  /** onnxruntime's name of the element type. */
  readonly ort: ort.Tensor.Type;
  /** Bytes per element in the binary extension; BYTES elements are length-prefixed instead. */
  readonly size: number | undefined;
}

export const OIP_DATATYPES: Readonly<Record<OipDatatype, DatatypeInfo>> = {
  BOOL: { ort: 'bool', size: 1 },
  UINT8: { ort: 'uint8', size: 1 },
  UINT16: { ort: 'uint16', size: 2 },
  UINT32: { ort: 'uint32', size: 4 },
  UINT64: { ort: 'uint64', size: 8 },
  INT8: { ort: 'int8', size: 1 },
  INT16: { ort: 'int16', size: 2 },
  INT32: { ort: 'int32', size: 4 },
  INT64: { ort: 'int64', size: 8 },
  FP16: { ort: 'float16', size: 2 },
  FP32: { ort: 'float32', size: 4 },
  FP64: { ort: 'float64', size: 8 },
  BYTES: { ort: 'string', size: undefined },
};

const BY_ORT = new Map<string, OipDatatype>(Object.entries(OIP_DATATYPES).map(([oip, info]) => [info.ort, oip as OipDatatype]));

export function isOipDatatype(value: unknown): value is OipDatatype {
  return typeof value === 'string' && Object.hasOwn(OIP_DATATYPES, value);
}

/** The OIP datatype of an onnxruntime element type, or undefined for types the protocol has no name for. */
export function oipDatatypeOf(ortType: string): OipDatatype | undefined {
  return BY_ORT.get(ortType);
}
