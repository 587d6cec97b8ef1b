import type { Logger } from '../../logger.js';
import type { ServingLimits } from '../config.js';
import type { ModelCatalog } from '../control/model-catalog.js';
import type { InferenceService } from '../dataplane/inference.js';
import type { ServingMetrics } from '../metrics.js';

/** What every protocol's routes may use: the control plane's catalog, the data plane, metrics, logs and limits. */
export interface ProtocolDeps {
  readonly catalog: ModelCatalog;
  readonly inference: InferenceService;
  readonly metrics: ServingMetrics;
  readonly logger: Logger;
  readonly limits: ServingLimits;
}
