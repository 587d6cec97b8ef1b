import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Registered on the dev server by temporal/search-attributes.txt; keep the two in step
// (test/devserver.test.ts checks names and types).
export const ModelName = defineSearchAttributeKey('ModelName', SearchAttributeType.KEYWORD);
export const ModelVersion = defineSearchAttributeKey('ModelVersion', SearchAttributeType.KEYWORD);
export const ModelDigest = defineSearchAttributeKey('ModelDigest', SearchAttributeType.KEYWORD);
export const ReleaseStage = defineSearchAttributeKey('ReleaseStage', SearchAttributeType.KEYWORD);
/** The canary's share of traffic in percent: 0 once deployed, each step's weight, 100 once promoted, 0 after a rollback. */
export const CanaryWeight = defineSearchAttributeKey('CanaryWeight', SearchAttributeType.INT);
/** The release's verdict so far (ReleaseVerdict in src/release/stages.ts). */
export const Verdict = defineSearchAttributeKey('Verdict', SearchAttributeType.KEYWORD);
/** The model artifact's pinned reference in the bundle store (`host/repo:version@sha256:…`), after export. */
export const ModelReference = defineSearchAttributeKey('ModelReference', SearchAttributeType.KEYWORD);
/** The batch a release belongs to, when a batch started it. */
export const BatchId = defineSearchAttributeKey('BatchId', SearchAttributeType.KEYWORD);

/** Where a batch rollout is (BatchState in src/batch/types.ts): running, pausing, halting, then completed, halted or cancelled. */
export const BatchStage = defineSearchAttributeKey('BatchStage', SearchAttributeType.KEYWORD);

export const releaseSearchAttributes = [ModelName, ModelVersion, ModelDigest, ModelReference, ReleaseStage, CanaryWeight, Verdict, BatchId, BatchStage] as const;
