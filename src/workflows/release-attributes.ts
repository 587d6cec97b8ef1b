import { upsertSearchAttributes } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { verdictOfStage, type ReleaseStageValue, type ReleaseVerdict } from '../release/stages.js';
import type { ReleaseRequest } from '../release/types.js';
import { BatchId, CanaryWeight, ModelDigest, ModelName, ModelReference, ModelVersion, ReleaseStage, Verdict } from '../search-attributes.js';

export interface ReleaseAttributeValues {
  readonly stage: ReleaseStageValue;
  readonly verdict: ReleaseVerdict;
  readonly canaryWeight?: number;
}

/**
 * The release's search attributes, kept current as it moves, and remembered for the current
 * details. Every upsert is a workflow command.
 */
export class ReleaseAttributes {
  private values: { stage: ReleaseStageValue; verdict: ReleaseVerdict; canaryWeight?: number } = { stage: 'export', verdict: 'pending' };

  constructor(private readonly onChange: () => void = () => undefined) {}

  current(): ReleaseAttributeValues {
    return { ...this.values };
  }

  begin(request: ReleaseRequest): void {
    this.upsert([
      { key: ModelName, value: request.name },
      { key: ModelVersion, value: request.version },
      { key: Verdict, value: 'pending' },
      ...(request.batchId ? [{ key: BatchId, value: request.batchId }] : []),
    ]);
  }

  digest(rootDigest: string): void {
    this.upsert([{ key: ModelDigest, value: `sha256:${rootDigest}` }]);
  }

  /** The model artifact's pinned reference in the bundle store. */
  reference(reference: string): void {
    this.upsert([{ key: ModelReference, value: reference }]);
  }

  /** A final stage also settles the verdict (and the canary weight: 100 promoted, 0 rolled back). */
  stage(value: ReleaseStageValue): void {
    this.values.stage = value;
    const verdict = verdictOfStage(value);
    if (verdict) this.values.verdict = verdict;
    const weight = value === 'promoted' ? 100 : value === 'rolled_back' ? 0 : undefined;
    if (weight !== undefined) this.values.canaryWeight = weight;
    this.upsert([
      { key: ReleaseStage, value },
      ...(verdict ? [{ key: Verdict, value: verdict }] : []),
      ...(weight !== undefined ? [{ key: CanaryWeight, value: weight }] : []),
    ]);
  }

  canaryWeight(weight: number): void {
    this.values.canaryWeight = weight;
    this.upsert([{ key: CanaryWeight, value: weight }]);
  }

  /** The latest canary analysis: pass, fail or inconclusive. */
  verdict(verdict: ReleaseVerdict): void {
    this.values.verdict = verdict;
    this.upsert([{ key: Verdict, value: verdict }]);
  }

  private upsert(pairs: SearchAttributeUpdatePair[]): void {
    if (pairs.length) upsertSearchAttributes(pairs);
    this.onChange();
  }
}
