import type { TensorSignature } from '../../../release/types.js';
import type { LoadedModel } from '../../control/loaded-model.js';
import type { ModelEntry } from '../../control/model-entry.js';
import { SLOT_NAMES } from '../../control/model-slot.js';
import { oipDatatypeOf } from './datatypes.js';

/** The platform name KServe and Triton use for ONNX models. */
const PLATFORM = 'onnxruntime_onnx';

/** The model a version names, or without one the model unversioned requests reach (stable; canary when there is no stable). */
export function addressed(entry: ModelEntry, version: string | undefined): LoadedModel | undefined {
  if (version === undefined) return entry.slots.stable.model ?? entry.slots.canary.model;
  return SLOT_NAMES.map((s) => entry.slots[s].model).find((m) => m?.ref.version === version);
}

/** The protocol's model metadata: every version loaded, and the addressed model's signature. */
export function modelMetadata(entry: ModelEntry, model: LoadedModel): Record<string, unknown> {
  const signature = model.manifest.signature;
  return {
    name: entry.name,
    versions: SLOT_NAMES.map((slot) => entry.slots[slot].model?.ref.version).filter((v, i, all): v is string => v !== undefined && all.indexOf(v) === i),
    platform: PLATFORM,
    inputs: signature.inputs.map(tensorMetadata),
    outputs: signature.outputs.map(tensorMetadata),
    parameters: { version: model.ref.version, digest: model.ref.digest },
  };
}

/** `{ name, datatype, shape }` with symbolic dimensions as -1 (the protocol's "any size"). */
function tensorMetadata(t: TensorSignature): { name: string; datatype: string; shape: number[] } {
  return { name: t.name, datatype: oipDatatypeOf(t.type) ?? t.type.toUpperCase(), shape: t.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
}
