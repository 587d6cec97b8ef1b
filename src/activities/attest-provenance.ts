import { Context } from '@temporalio/activity';
import { readFile } from 'node:fs/promises';
import { bundlePaths } from '../bundle/layout.js';
import { parseManifest } from '../bundle/manifest.js';
import { writeFileAtomic } from '../atomic-write.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../crypto/dsse.js';
import { loadReleaseSigners } from '../trust/signers.js';
import { signEnvelopeMulti } from '../trust/multi-sign.js';
import { buildProvenanceStatement, SLSA_PROVENANCE_V1 } from '../attest/provenance.js';
import { sha256Hex } from '../hashing/stream-hash.js';
import { MODELSHIP_VERSION } from '../paths.js';
import type { AttestResult, ReleaseRequest } from '../release/types.js';
import type { ActivityDeps } from './deps.js';

export interface AttestInput {
  readonly bundleDir: string;
  readonly signingKeyPath: string;
  readonly request: ReleaseRequest;
  /** When the release workflow started (SLSA runDetails.metadata.startedOn). */
  readonly startedOn: string;
}

/** Writes an in-toto Statement v1 with SLSA Provenance v1 in a DSSE envelope, signed with the release key. */
export async function attestProvenance(deps: ActivityDeps, input: AttestInput): Promise<AttestResult> {
  const info = Context.current().info;
  const run = info.workflowExecution;
  if (!run || !info.workflowNamespace) throw new Error('attestProvenance must run as part of a release workflow');
  const paths = bundlePaths(input.bundleDir);
  const manifestText = await readFile(paths.manifest, 'utf8');
  const manifest = parseManifest(manifestText);
  const statement = buildProvenanceStatement({
    name: manifest.name,
    version: manifest.version,
    rootDigest: manifest.digest.root,
    digestRule: manifest.digest,
    manifestSha256: sha256Hex(manifestText),
    request: input.request,
    source: manifest.source,
    namespace: info.workflowNamespace,
    workflowId: run.workflowId,
    runId: run.runId,
    taskQueue: info.taskQueue,
    startedOn: input.startedOn,
    finishedOn: new Date().toISOString(),
    builderVersion: MODELSHIP_VERSION,
  });
  const keys = await loadReleaseSigners(input.signingKeyPath, await deps.passphrase());
  const envelope = signEnvelopeMulti(Buffer.from(JSON.stringify(statement), 'utf8'), IN_TOTO_PAYLOAD_TYPE, keys);
  await writeFileAtomic(paths.provenance, JSON.stringify(envelope, null, 2) + '\n');
  return {
    envelopePath: paths.provenance,
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    predicateType: SLSA_PROVENANCE_V1,
    subject: { name: `${manifest.name}@${manifest.version}`, sha256: manifest.digest.root },
    kid: keys.map((k) => k.kid).join(','),
  };
}
