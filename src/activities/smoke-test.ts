import { Context } from '@temporalio/activity';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { bundlePaths } from '../bundle/layout.js';
import { parseManifest, type Manifest } from '../bundle/manifest.js';
import { writeFileAtomic } from '../atomic-write.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../crypto/dsse.js';
import { loadReleaseSigners } from '../trust/signers.js';
import { signEnvelopeMulti } from '../trust/multi-sign.js';
import { buildTestResultStatement, type TestResultValue } from '../attest/test-result.js';
import { BundleVerificationFailedError, CorruptModelError, type FailedVerification, ModelshipError, NativeInferenceError, SandboxEngineError, SmokeFailedError, errorMessage } from '../errors/index.js';
import { runOnnxInSandbox } from '../sandbox/onnx-engine.js';
import { loadEngine } from '../sandbox/engine-module.js';
import { ENGINE_VERSION } from '../sandbox/engine-pin.js';
import { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from '../sandbox/limits.js';
import type { Tensor } from '../tensor/tensor.js';
import { smokeRunData } from '../smoke/smoke-inputs.js';
import type { SmokeDataFile } from '../smoke/smoke-data.js';
import { sandboxFixupFor, type ModelFixup } from '../sandbox/model-fixups.js';
import { runNative } from '../smoke/native-runner.js';
import { DEFAULT_INT_RANGE } from '../smoke/test-inputs.js';
import { externalBytesFrom, inlineExternalData } from '../onnx/inline-external-data.js';
import type { ExternalDataFile } from '../onnx/external-data.js';
import { sha256Hex } from '../hashing/stream-hash.js';
import { compareOutputs, DEFAULT_TOLERANCE, type ComparisonVerdict, type Tolerance } from '../smoke/compare-outputs.js';
import { quantizationOps } from '../smoke/quantized-agreement.js';
import { readGraphInfo } from '../onnx/graph-info.js';
import { runUserPlugin, type UserPluginVerdict } from '../smoke/user-plugins.js';
import { verifyBeforeSmoke } from '../smoke/verify-before-smoke.js';
import type { SmokeExpectedFigures, SmokeOptions, SmokeResult, SmokeVerification } from '../release/types.js';
import type { ActivityDeps } from './deps.js';

export interface SmokeInput {
  readonly bundleDir: string;
  readonly signingKeyPath: string;
  readonly options?: SmokeOptions;
}

export const DEFAULT_SMOKE_TIMEOUT_MS = 30_000;
/** How messages name the user's expected outputs (smoke.dataPath), against 'native'. */
export const EXPECTED_LABEL = 'expected (from --smoke-data)';
// Well inside the 10 s heartbeat timeout even when a starved host delays a timer by seconds.
const HEARTBEAT_MS = 2_000;

/**
 * Verifies the bundle (files, root digest, model.jws, provenance) against the worker's trust
 * policy, or the release's own keys when the worker has none, before anything of it runs; then
 * runs the model on test inputs in the WebAssembly sandbox and natively, compares, runs the
 * release's own plugins, and writes a signed in-toto Test Result into the bundle, whether the
 * model passed or not, so a failure is on record too. The verification goes into both.
 */
export async function smokeTest(deps: ActivityDeps, input: SmokeInput): Promise<SmokeResult> {
  const ctx = Context.current();
  const options = input.options ?? {};
  const paths = bundlePaths(input.bundleDir);
  const signers = await loadReleaseSigners(input.signingKeyPath, await deps.passphrase());
  const engineSha256 = (await loadEngine()).wasmSha256;
  const tolerance: Tolerance = { ...DEFAULT_TOLERANCE, ...options.tolerance };
  const limits: SandboxLimits = {
    ...DEFAULT_SANDBOX_LIMITS,
    timeoutMs: options.timeoutMs ?? DEFAULT_SMOKE_TIMEOUT_MS,
    ...(options.maxMemoryMiB ? { maxMemoryBytes: options.maxMemoryMiB * 1024 * 1024 } : {}),
  };
  const seed = options.seed ?? 1;

  const passed: string[] = [];
  const warned: string[] = [];
  const failed: string[] = [];
  const pluginVerdicts: UserPluginVerdict[] = [];
  let dataFiles: readonly SmokeDataFile[] = [];
  let fixup: ModelFixup | null = null;
  const attest = async (subject: Manifest, result: TestResultValue, verification: SmokeVerification | FailedVerification) => {
    const statement = buildTestResultStatement(
      { name: `${subject.name}@${subject.version}`, digest: { sha256: subject.digest.root } },
      {
        result,
        configuration: [
          { name: `onnxruntime-web@${ENGINE_VERSION}/ort-wasm-simd-threaded.wasm`, digest: { sha256: engineSha256 } },
          {
            name: 'smoke-configuration',
            annotations: {
              seed,
              inputsPath: options.inputsPath ?? null,
              ...(options.dataPath ? { dataPath: options.dataPath } : {}),
              tolerance,
              ...(options.outputTolerances ? { outputTolerances: options.outputTolerances } : {}),
              ...(options.shapes ? { shapes: options.shapes } : {}),
              ...(options.dims ? { dims: options.dims } : {}),
              ...(options.intRange ? { intRange: options.intRange } : {}),
              ...(options.intRanges ? { intRanges: options.intRanges } : {}),
              timeoutMs: limits.timeoutMs,
              maxMemoryBytes: limits.maxMemoryBytes,
            },
          },
          { name: 'bundle-verification', annotations: { ...verification } },
          // The reference data's files by digest: the expected outputs this result was judged against.
          ...dataFiles.map((f) => ({ name: `smoke-data:${f.path || basename(options.dataPath ?? '')}`, digest: { sha256: f.sha256 } })),
          ...(fixup ? [{ name: `sandbox-model-fixup:${fixup.id}`, digest: { sha256: fixup.sha256 }, annotations: { description: fixup.description, changed: fixup.changed } }] : []),
          ...pluginVerdicts.map((p) => ({ name: `plugin:${p.path}`, digest: { sha256: p.sha256 } })),
        ],
        passedTests: passed,
        warnedTests: warned,
        failedTests: failed,
      },
    );
    await writeFileAtomic(paths.smoke, JSON.stringify(signEnvelopeMulti(Buffer.from(JSON.stringify(statement)), IN_TOTO_PAYLOAD_TYPE, signers), null, 2) + '\n');
  };

  // Verification re-hashes every file, which takes a while for a large model: heartbeat through it.
  let step = 'verify';
  ctx.heartbeat({ step });
  const beat = setInterval(() => ctx.heartbeat({ step }), HEARTBEAT_MS);
  try {
    let verified: Awaited<ReturnType<typeof verifyBeforeSmoke>>;
    try {
      verified = await verifyBeforeSmoke(input.bundleDir, { trustedKeysDir: deps.trustedKeysDir, signingKeyPath: input.signingKeyPath, signers });
    } catch (err) {
      if (err instanceof BundleVerificationFailedError) {
        // Replace whatever smoke attestation the bundle holds (it must not say PASSED for this),
        // as long as model.yaml names a subject to say FAILED about.
        const claimed = await readFile(paths.manifest, 'utf8').then((text) => parseManifest(text)).catch(() => undefined);
        failed.push(...err.verification.failedChecks.map((c) => `bundle-verification: ${c.check}: ${c.detail}`));
        if (claimed) await attest(claimed, 'FAILED', err.verification);
      }
      throw err;
    }
    const { manifest, verification, model } = verified;
    ctx.log.info('bundle verified', { mode: verification.mode, trustSource: verification.trustSource, kids: verification.countedKids, rule: verification.rule });
    passed.push(`bundle-verification: ${verification.checks.join(', ')} under ${verification.rule} (${verification.counted} of ${verification.threshold})`);
    step = 'smoke';

    // External data may only come from the bundle's own files (refused otherwise, naming the
    // tensor and path), as verification read and hashed them: both engines get those bytes, and
    // nothing is read from disk again.
    if ('refused' in verified.externalData) throw verified.externalData.refused;
    const externalData = verified.externalData.files;
    const sandboxModel = modelForSandbox(model, externalData);
    if (sandboxModel.tensors > 0) {
      passed.push(
        `sandbox-model: ${sandboxModel.tensors} external tensors inlined from ${externalData.map((f) => f.path).join(', ')} ` +
          `(onnxruntime-web cannot take a subgraph's external data by file); sha256 of the model the sandbox ran: ${sha256Hex(sandboxModel.model)}`,
      );
    }
    const data = await smokeRunData(model, manifest.signature, options);
    const inputs = data.inputs;
    const expected = data.expected;
    if (expected) dataFiles = expected.files;
    const nativeStart = performance.now();
    const native = await runNative(model, inputs, { timeoutMs: limits.timeoutMs, ...(deps.nativeMemoryBytes ? { memoryBytes: deps.nativeMemoryBytes } : {}) }, ctx.cancellationSignal, { externalData }).catch(
      (err: unknown) => {
        throw options.inputsPath || options.dataPath ? err : withShapeHint(err, inputs);
      },
    );
    const nativeMs = performance.now() - nativeStart;

    let sandbox: Tensor[] | undefined;
    let warning: string | undefined;
    const sandboxStart = performance.now();
    const sandboxOptions = {
      timeoutMs: limits.timeoutMs,
      ...(options.maxMemoryMiB ? { maxMemoryBytes: options.maxMemoryMiB * 1024 * 1024 } : {}),
    };
    try {
      try {
        sandbox = await runOnnxInSandbox(sandboxModel.model, inputs, sandboxOptions);
      } catch (err) {
        // A refusal a recorded host fix-up answers (model-fixups.ts): run the fixed-up bytes, once.
        const refusal = err instanceof SandboxEngineError && err.phase === 'load' ? err.engineMessage : undefined;
        fixup = refusal === undefined ? null : sandboxFixupFor(sandboxModel.model, refusal);
        if (!fixup) throw err;
        ctx.log.info('sandbox refused the model; running it with a recorded fix-up', { fixup: fixup.id, sha256: fixup.sha256, refusal });
        passed.push(`sandbox-model-fixup ${fixup.id}: ${fixup.description}; fixed-up sha256 ${fixup.sha256} (${fixup.changed.length} changed: ${fixup.changed.join(', ')}); the engine had refused the signed bytes: ${refusal}`);
        sandbox = await runOnnxInSandbox(fixup.bytes, inputs, sandboxOptions);
      }
    } catch (err) {
      const message = errorMessage(err);
      if (options.onUnsupported === 'warn' && err instanceof SandboxEngineError && err.phase === 'load') {
        warning = `sandbox engine: ${message}; outputs were not compared`;
        warned.push(`sandbox-inference: ${message}`);
      } else {
        failed.push(`sandbox-inference: ${typeOf(err)}: ${message}`);
        await attest(manifest, 'FAILED', verification);
        throw err;
      }
    }
    const sandboxMs = performance.now() - sandboxStart;

    let figures: Pick<SmokeResult, 'outputs' | 'maxAbsDiff' | 'maxRelDiff'> = { outputs: [], maxAbsDiff: 0, maxRelDiff: 0 };
    let expectedFigures: SmokeExpectedFigures | undefined;
    if (sandbox) {
      const quantizedOps = quantizationOps(readGraphInfo(model));
      const quantized = quantizedOps.length
        ? { ops: quantizedOps, explicitTolerance: (output: string) => options.tolerance !== undefined || options.outputTolerances?.[output] !== undefined }
        : undefined;
      const byAgreement = (test: string, v: ComparisonVerdict) => {
        for (const o of v.outputs) {
          if (o.agreement?.passedBy) passed.push(`${test} ${o.name}: quantized (${quantizedOps.join(', ')}): cosine ${o.agreement.cosine.toFixed(6)}, top-1 ${o.agreement.top1Agreeing} of ${o.agreement.decisiveRows} decisive rows`);
        }
      };
      // Both comparisons run and both are recorded, whichever fails.
      const verdict = compareOutputs(sandbox, native, tolerance, options.outputTolerances, quantized);
      figures = { outputs: verdict.outputs, maxAbsDiff: verdict.maxAbsDiff, maxRelDiff: verdict.maxRelDiff };
      const failures: string[] = [];
      if (verdict.ok) {
        passed.push(`outputs-agree: max abs ${verdict.maxAbsDiff.toExponential(2)}, max rel ${verdict.maxRelDiff.toExponential(2)}`);
        byAgreement('outputs-agree', verdict);
        passed.push('outputs-finite');
      } else {
        failed.push(`outputs-agree: ${verdict.reason}`);
        failures.push(`sandbox and native outputs disagree: ${verdict.reason}${options.inputsPath || options.dataPath ? '' : nonFiniteHint(verdict.outputs, inputs, options)}`);
      }
      if (expected) {
        // The outputs the data gives (it may leave some out), judged under the same tolerances.
        const names = new Set(expected.tensors.map((t) => t.name));
        const perOutput = options.outputTolerances ? Object.fromEntries(Object.entries(options.outputTolerances).filter(([name]) => names.has(name))) : undefined;
        const got = sandbox.filter((t) => names.has(t.name));
        const vs = compareOutputs(got, expected.tensors, tolerance, perOutput, quantized, EXPECTED_LABEL);
        expectedFigures = {
          dataPath: options.dataPath!,
          files: expected.files,
          outputs: vs.outputs.map(({ worst, ...o }) => ({ ...o, ...(worst ? { worst: { index: worst.index, at: worst.at, sandbox: worst.sandbox, expected: worst.native, ratio: worst.ratio } } : {}) })),
          maxAbsDiff: vs.maxAbsDiff,
          maxRelDiff: vs.maxRelDiff,
        };
        if (vs.ok) {
          passed.push(`outputs-match-expected: ${[...names].join(', ')} from ${options.dataPath}: max abs ${vs.maxAbsDiff.toExponential(2)}, max rel ${vs.maxRelDiff.toExponential(2)}`);
          byAgreement('outputs-match-expected', vs);
        } else {
          failed.push(`outputs-match-expected: ${vs.reason}`);
          failures.push(`sandbox outputs disagree with the expected outputs of ${options.dataPath}: ${vs.reason}`);
        }
      }
      if (failures.length) {
        await attest(manifest, 'FAILED', verification);
        throw new SmokeFailedError(failures.join('; and '));
      }
    }

    for (const plugin of options.plugins ?? []) {
      const context = { model: { name: manifest.name, version: manifest.version, rootDigest: manifest.digest.root }, inputs, outputs: native };
      let verdict: UserPluginVerdict;
      try {
        verdict = await runUserPlugin(plugin, context, limits);
      } catch (err) {
        failed.push(`plugin ${plugin.path}: ${typeOf(err)}: ${errorMessage(err)}`);
        await attest(manifest, 'FAILED', verification);
        throw err;
      }
      pluginVerdicts.push(verdict);
      if (!verdict.passed) {
        failed.push(`plugin ${plugin.path}: ${verdict.message}`);
        await attest(manifest, 'FAILED', verification);
        throw new SmokeFailedError(`smoke plugin ${plugin.path} failed the model: ${verdict.message}`);
      }
      passed.push(`plugin ${plugin.path}: ${verdict.message}`);
    }

    const result: TestResultValue = warned.length ? 'WARNED' : 'PASSED';
    await attest(manifest, result, verification);
    return {
      result,
      attestationPath: paths.smoke,
      engineSha256,
      inputs: inputs.map((t) => ({ name: t.name, type: t.type, dims: t.dims })),
      ...figures,
      tolerance,
      sandboxMs: round(sandboxMs),
      nativeMs: round(nativeMs),
      plugins: pluginVerdicts,
      ...(warning ? { warning } : {}),
      verification,
      ...(expectedFigures ? { expected: expectedFigures } : {}),
      ...(fixup ? { sandboxFixup: { id: fixup.id, description: fixup.description, sha256: fixup.sha256, changed: fixup.changed } } : {}),
    };
  } finally {
    clearInterval(beat);
  }
}

/** The model with its (already resolved, bundle-only) external data inline: what the sandbox runs. */
function modelForSandbox(model: Uint8Array, files: readonly ExternalDataFile[]): { model: Uint8Array; tensors: number } {
  return files.length === 0 ? { model, tensors: 0 } : inlineExternalData(model, externalBytesFrom(files));
}

/**
 * NaN or infinite outputs on generated inputs are most often integer inputs left at the default
 * range (an all-zero attention mask, token ids 0..3): say which, and how to set them.
 */
function nonFiniteHint(outputs: readonly { readonly nonFinite?: number }[], inputs: readonly Tensor[], spec: { intRange?: unknown; intRanges?: Readonly<Record<string, unknown>> }): string {
  if (!outputs.some((o) => (o.nonFinite ?? 0) > 0) || spec.intRange) return '';
  const defaulted = inputs.filter((t) => /^u?int(8|16|32|64)$/.test(t.type) && spec.intRanges?.[t.name] === undefined).map((t) => t.name);
  if (!defaulted.length) return '';
  return ` (on generated inputs: ${defaulted.join(', ')} took integers ${DEFAULT_INT_RANGE.min}..${DEFAULT_INT_RANGE.max}, the default; if one is a mask, token ids or a sample rate, set its range with --smoke-int-range ${defaulted[0]}=MIN:MAX or request smoke.intRanges)`;
}

/** onnxruntime refusing generated inputs is most often a shape the model cannot take: say which were used and how to set them. */
function withShapeHint(err: unknown, inputs: readonly Tensor[]): unknown {
  if (!(err instanceof NativeInferenceError)) return err;
  const shapes = inputs.map((t) => `${t.name}=${t.dims.join('x') || '(scalar)'}`).join(' ');
  return new NativeInferenceError(`${err.message} (on generated inputs ${shapes}; set shapes with --smoke-shape INPUT=AxB or --smoke-dim NAME=N, request smoke.shapes / smoke.dims, or give inputs with --smoke-inputs)`);
}

function typeOf(err: unknown): string {
  return err instanceof ModelshipError ? err.type : err instanceof Error ? err.name : 'Error';
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
