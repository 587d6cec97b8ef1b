import type { ServingMetrics } from '../metrics.js';
import type { SlotName } from './model-slot.js';

/** Model names: what may appear in a URL path segment and a metric label without surprises. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Counts a refused deploy in modelship_bundles_refused_total by error type. A name that is not a
 * valid model name is counted under '' so a caller cannot mint label values.
 */
export function countRefusedDeploy(metrics: ServingMetrics, name: string, slot: SlotName, err: unknown): void {
  const reason = err instanceof Error && 'type' in err && typeof err.type === 'string' ? err.type : 'Error';
  metrics.bundleRefused(MODEL_NAME_PATTERN.test(name) ? name : '', slot, reason);
}
