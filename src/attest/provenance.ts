import { IN_TOTO_STATEMENT_V1, type ResourceDescriptor, type Statement } from './statement.js';
import type { ReleaseRequest, SourceRef } from '../release/types.js';
import type { ManifestDigest } from '../bundle/manifest.js';

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const RELEASE_BUILD_TYPE = 'https://modelship.dev/release-workflow/v1';
export const MODELSHIP_BUILDER_ID = 'https://modelship.dev/builders/temporal-worker/v1';

export interface SlsaProvenance {
  readonly buildDefinition: {
    readonly buildType: string;
    readonly externalParameters: { readonly request: ReleaseRequest };
    readonly internalParameters: Readonly<Record<string, unknown>>;
    readonly resolvedDependencies: readonly ResourceDescriptor[];
  };
  readonly runDetails: {
    readonly builder: { readonly id: string; readonly version: Readonly<Record<string, string>> };
    readonly metadata: { readonly invocationId: string; readonly startedOn: string; readonly finishedOn: string };
    readonly byproducts: readonly ResourceDescriptor[];
  };
}

export interface ProvenanceInput {
  readonly name: string;
  readonly version: string;
  readonly rootDigest: string;
  /** How the root digest was computed (model.yaml's digest block). */
  readonly digestRule: Pick<ManifestDigest, 'rule' | 'shardBytes'>;
  readonly manifestSha256: string;
  readonly request: ReleaseRequest;
  readonly source: SourceRef;
  readonly namespace: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly taskQueue: string;
  readonly startedOn: string;
  readonly finishedOn: string;
  readonly builderVersion: string;
}

/** The model (its root digest) as subject; the Temporal run as the invocation that made it. */
export function buildProvenanceStatement(input: ProvenanceInput): Statement<SlsaProvenance> {
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: `${input.name}@${input.version}`, digest: { sha256: input.rootDigest } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: RELEASE_BUILD_TYPE,
        externalParameters: { request: input.request },
        internalParameters: { rootDigestRule: input.digestRule.rule, ...(input.digestRule.shardBytes ? { shardBytes: input.digestRule.shardBytes } : {}), namespace: input.namespace, taskQueue: input.taskQueue },
        resolvedDependencies: [{ name: 'source-model', uri: input.source.uri, digest: { sha256: input.source.sha256 } }],
      },
      runDetails: {
        builder: { id: MODELSHIP_BUILDER_ID, version: { modelship: input.builderVersion } },
        metadata: {
          invocationId: `temporal://${input.namespace}/workflows/${input.workflowId}/runs/${input.runId}`,
          startedOn: input.startedOn,
          finishedOn: input.finishedOn,
        },
        byproducts: [{ name: 'model.yaml', digest: { sha256: input.manifestSha256 } }],
      },
    },
  };
}
