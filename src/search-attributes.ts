import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Registered on the dev server by temporal/search-attributes.txt; keep the two in step
// (test/search-attributes.test.ts checks).
export const ModelName = defineSearchAttributeKey('ModelName', SearchAttributeType.KEYWORD);
export const ModelVersion = defineSearchAttributeKey('ModelVersion', SearchAttributeType.KEYWORD);
export const ModelDigest = defineSearchAttributeKey('ModelDigest', SearchAttributeType.KEYWORD);
export const ReleaseStage = defineSearchAttributeKey('ReleaseStage', SearchAttributeType.KEYWORD);

export const releaseSearchAttributes = [ModelName, ModelVersion, ModelDigest, ReleaseStage] as const;
