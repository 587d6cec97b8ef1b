// The serving runtime: an HTTP inference server for verified release bundles, with stable and
// canary slots, sticky traffic splitting, shadow comparisons, atomic hot swaps, the Open Inference
// Protocol (v2 REST), a signed admin API with rotatable keys and Prometheus metrics. See serve.ts
// for the entry points; the admin client is src/serving-client/.
export { startServingRuntime, main, type ServingRuntime, type ServingRuntimeConfig } from './serve.js';
export { ServingRejectedError, ServingUnavailableError, BundleRefusedError } from '../errors/index.js';
export type { AdminResult, ModelStatus, SlotStatus } from './control/model-catalog.js';
export type { SlotName } from './control/model-slot.js';
export { SLOT_HEADER, REQUEST_KEY_HEADER } from './protocol/inference-headers.js';
