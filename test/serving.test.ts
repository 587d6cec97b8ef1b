// The serving runtime end to end: a real HTTP server on 127.0.0.1 (port 0), real signed bundles
// (makeSignedBundle), real onnxruntime-node sessions, the real admin signatures.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { pino } from 'pino';
import { startServingRuntime, type ServingRuntime } from '../src/serving/serve.js';
import { ServingAdminClient } from '../src/serving-client/admin-client.js';
import { ServingRejectedError, ServingUnavailableError } from '../src/errors/index.js';
import { trafficBucket } from '../src/serving/dataplane/traffic-split.js';
import { compareShadow } from '../src/serving/dataplane/shadow.js';
import { AdminAuthenticator } from '../src/serving/protocol/admin/auth.js';
import { signAdminRequest } from '../src/serving-client/admin-signing.js';
import type { ModelStatus } from '../src/serving/control/model-catalog.js';
import { makeSignedBundle, type SignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys, SAMPLE_MODEL, TempDirs, type TestKeys } from './helpers/fixtures.js';
import { adminRequest, inferFeatures, postJson, reshapeModelBytes, writePerturbedModel, type InferAnswer } from './helpers/serving-fixture.js';

const temp = new TempDirs();

/** Rows near the three training blob centres of the sample model (one per class). */
const ROWS = [
  [-2, 1, 0, -1],
  [2, 1.5, -1, 0.5],
  [0, -2, 1.5, 1],
] as const;

let base: string;
let keysDir: string;
let keys: TestKeys;
let rogue: TestKeys;
let perturbedModel: string;
const secret = randomBytes(32).toString('hex');
const logLines: string[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
let runtime: ServingRuntime;
let url: string;
let client: ServingAdminClient;

before(async () => {
  base = await temp.make('modelship-serving-');
  keysDir = join(base, 'keys');
  keys = await makeKeys(keysDir, 'release');
  rogue = await makeKeys(join(base, 'rogue-keys'), 'rogue');
  // Same graph, output bias pushed to class 0: a canary that disagrees on the other classes.
  perturbedModel = join(base, 'perturbed-mlp.onnx');
  await writePerturbedModel(SAMPLE_MODEL, perturbedModel, 'b2', [100, 0, 0]);
  runtime = await startServingRuntime({ host: '127.0.0.1', port: 0, stateDir: join(base, 'state'), trustedKeysDir: keysDir, adminSecret: secret, logger });
  url = runtime.url;
  client = new ServingAdminClient({ baseUrl: url, secret });
});

after(async () => {
  await runtime?.close();
  await temp.cleanup();
});

let bundleCount = 0;
async function bundle(name: string, version: string, options: { modelPath?: string; key?: TestKeys } = {}): Promise<SignedBundle> {
  const dir = join(base, 'bundles', `${name}-${version}-${bundleCount++}`);
  return makeSignedBundle(dir, (options.key ?? keys).signingKey, { name, version, modelPath: options.modelPath ?? SAMPLE_MODEL });
}

async function runDirect(modelPath: string, rows: readonly (readonly number[])[]): Promise<number[]> {
  const session = await ort.InferenceSession.create(modelPath, { logSeverityLevel: 3 });
  try {
    const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]) });
    return Array.from(out.probabilities!.data as Float32Array);
  } finally {
    await session.release();
  }
}

function argmaxRows(values: readonly number[], k: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < values.length / k; r++) {
    const row = values.slice(r * k, r * k + k);
    out.push(row.indexOf(Math.max(...row)));
  }
  return out;
}

/** Runs `fn` over `items` with at most `n` at a time. */
async function pool<T, R>(n: number, items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  }));
  return results;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function stableView(status: ModelStatus) {
  const slot = (s: ModelStatus['slots']['stable']) => (s ? { state: s.state, version: s.version, digest: s.digest, kid: s.kid, bundleDir: s.bundleDir } : null);
  return { name: status.name, canaryWeight: status.canaryWeight, shadow: status.shadow, stable: slot(status.slots.stable), canary: slot(status.slots.canary), previousStable: status.previousStable };
}

describe('inference', () => {
  test('deploy stable, then infer: the answer is onnxruntime-node run directly, with the release identity', async () => {
    const v1 = await bundle('mlp', '1.0.0');
    const deployed = await client.deploy('mlp', 'stable', v1.bundleDir);
    assert.equal(deployed.changed, true);
    const slot = deployed.status.slots.stable!;
    assert.equal(slot.version, '1.0.0');
    assert.equal(slot.digest, `sha256:${v1.manifest.digest.root}`);
    assert.equal(slot.kid, keys.publicKey.kid);
    assert.equal(slot.bundleDir, v1.bundleDir);
    assert.ok(Date.parse(slot.loadedAt!) > 0);

    const answer = await inferFeatures(url, 'mlp', ROWS);
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.equal(answer.json.model, 'mlp');
    assert.equal(answer.json.slot, 'stable');
    assert.equal(answer.json.version, '1.0.0');
    assert.equal(answer.json.digest, `sha256:${v1.manifest.digest.root}`);
    assert.ok(answer.json.latencyMs >= 0);
    assert.deepEqual(answer.json.outputs.probabilities!.dims, [3, 3]);
    assert.deepEqual(answer.json.outputs.probabilities!.data, await runDirect(SAMPLE_MODEL, ROWS));

    const again = await client.deploy('mlp', 'stable', v1.bundleDir);
    assert.equal(again.changed, false, 'deploying the bundle already in the slot is a no-op');
    assert.match(again.message, /already serves .*nothing to do/);
    assert.equal(again.status.slots.stable!.loadedAt, slot.loadedAt, 'the no-op did not reload the model');
  });

  test('malformed requests are 400 naming the problem; unknown model 404; no stable 503; oversized 413', async () => {
    const inferUrl = `${url}/v1/models/mlp/infer`;
    const cases: Array<[unknown, RegExp]> = [
      ['{"inputs": ', /not valid JSON/],
      [{}, /"inputs" must be an object/],
      [{ inputs: {} }, /inputs\.features is missing/],
      [{ inputs: { features: { dims: [1, 4], data: [1, 2, 3, 4] }, extra: { dims: [1], data: [1] } } }, /inputs\.extra: the model has no input of that name/],
      [{ inputs: { features: { dims: [2, 5], data: new Array(10).fill(0) } } }, /inputs\.features\.dims\[1\] is 5, the model expects 4/],
      [{ inputs: { features: { dims: [4], data: [1, 2, 3, 4] } } }, /inputs\.features\.dims has 1 dimension/],
      [{ inputs: { features: { dims: [2, 4], data: [1, 2, 3] } } }, /inputs\.features\.data has 3 value\(s\), but dims \[2, 4\] need 8/],
      [{ inputs: { features: { dims: [1, 4], data: [1, 2, 'x', 4] } } }, /inputs\.features\.data\[2\]: expected a number, got "x"/],
      [{ inputs: { features: { dims: [1, -4], data: [] } } }, /inputs\.features\.dims\[1\] must be a size/],
      [{ inputs: { features: [1, 2, 3, 4] } }, /inputs\.features must be an object/],
      [{ inputs: { features: { dims: [1, 4], data: [1, 2, 3, 4], type: 'int64' } } }, /inputs\.features\.type is "int64", but the model's input is float32/],
    ];
    for (const [body, pattern] of cases) {
      const answer = await postJson(inferUrl, body);
      assert.equal(answer.status, 400, `${JSON.stringify(body)} → ${answer.status}`);
      assert.match(answer.json.error, pattern);
    }

    const unknown = await inferFeatures(url, 'no-such-model', ROWS);
    assert.equal(unknown.status, 404);
    assert.match(unknown.json.error ?? '', /no model named "no-such-model"/);
    await assert.rejects(client.status('no-such-model'), (err: unknown) => err instanceof ServingRejectedError && err.status === 404 && err.retryable === false);

    const canaryOnly = await bundle('canary-only', '1.0.0');
    await client.deploy('canary-only', 'canary', canaryOnly.bundleDir);
    const noStable = await inferFeatures(url, 'canary-only', ROWS);
    assert.equal(noStable.status, 503);
    assert.match(noStable.json.error ?? '', /no stable release loaded/);

    const huge = JSON.stringify({ inputs: { features: { dims: [1, 4], data: [1, 2, 3, 4] } }, pad: 'x'.repeat(9 * 1024 * 1024) });
    const tooLarge = await fetch(inferUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: huge });
    assert.equal(tooLarge.status, 413);
    assert.match(((await tooLarge.json()) as { error: string }).error, /larger than the limit of 8388608 bytes/);

    const wrongMethod = await fetch(inferUrl);
    assert.equal(wrongMethod.status, 405);
  });

  test('a model that fails at run time answers 500, counted as an error, and keeps serving', async () => {
    const modelPath = join(base, 'reshape.onnx');
    await writeFile(modelPath, reshapeModelBytes());
    const b = await bundle('reshaper', '1.0.0', { modelPath });
    await client.deploy('reshaper', 'stable', b.bundleDir);
    const since = Date.now();
    const inferUrl = `${url}/v1/models/reshaper/infer`;
    const call = (shape: number[]) => postJson(inferUrl, { inputs: { data: { dims: [4], data: [1, 2, 3, 4] }, shape: { dims: [shape.length], data: shape } } });

    const ok = await call([2, 2]);
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.deepEqual(ok.json.outputs.out, { dims: [2, 2], data: [1, 2, 3, 4] });
    const failed = await call([7]);
    assert.equal(failed.status, 500);
    assert.match(failed.json.error, /reshaper@1\.0\.0 \(stable\) failed to run: .*Reshape/);
    const bad = await call([1.5]);
    assert.equal(bad.status, 400, 'a non-integer int64 is the caller\'s error, not the model\'s');
    assert.match(bad.json.error, /inputs\.shape\.data\[0\]: expected an integer/);
    assert.equal((await call([4])).status, 200);

    const observed = await client.observations('reshaper', since);
    assert.deepEqual(observed.slots.stable.map((o) => o.error), [false, true, false]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /modelship_request_errors_total\{model="reshaper",slot="stable"\} 1\n/);
    assert.match(metrics, /modelship_requests_total\{model="reshaper",slot="stable"\} 3\n/);
  });
});

describe('traffic split', () => {
  test('canary at weight 30: each key sticks to one slot, about 30% of 1000 keys land on the canary', async () => {
    const v1 = await bundle('split', '1.0.0');
    const v2 = await bundle('split', '2.0.0');
    await client.deploy('split', 'stable', v1.bundleDir);
    await assert.rejects(client.setWeight('split', 30), (err: unknown) => err instanceof ServingRejectedError && err.status === 409 && /no canary loaded/.test(err.message));
    await client.deploy('split', 'canary', v2.bundleDir);
    const weighted = await client.setWeight('split', 30);
    assert.equal(weighted.status.canaryWeight, 30);
    await assert.rejects(client.setWeight('split', 101), (err: unknown) => err instanceof ServingRejectedError && err.status === 400);

    // Sticky: the same key, asked repeatedly, always lands on the same slot.
    for (let k = 0; k < 20; k++) {
      const answers = await Promise.all([0, 1, 2, 3].map(() => inferFeatures(url, 'split', [ROWS[k % 3]!], `sticky-${k}`)));
      const slots = new Set(answers.map((a) => a.json.slot));
      assert.equal(slots.size, 1, `key sticky-${k} landed on ${[...slots].join(' and ')}`);
      assert.equal(answers[0]!.json.version, answers[0]!.json.slot === 'canary' ? '2.0.0' : '1.0.0');
    }

    const keysList = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
    const answers = await pool(16, keysList, (key) => inferFeatures(url, 'split', [ROWS[0]!], key));
    assert.ok(answers.every((a) => a.status === 200));
    const onCanary = answers.filter((a) => a.json.slot === 'canary').length;
    assert.ok(onCanary >= 200 && onCanary <= 400, `${onCanary} of 1000 keys on the canary at weight 30`);
    // The slot is exactly the documented rule: bucket(model, key) < weight.
    answers.forEach((a, i) => assert.equal(a.json.slot, trafficBucket('split', keysList[i]!) < 30 ? 'canary' : 'stable'));

    // Widening the rollout only moves keys to the canary, never back.
    await client.setWeight('split', 60);
    const wider = await pool(16, keysList.slice(0, 300), (key) => inferFeatures(url, 'split', [ROWS[0]!], key));
    wider.forEach((a, i) => {
      if (answers[i]!.json.slot === 'canary') assert.equal(a.json.slot, 'canary', `${keysList[i]} left the canary when the weight went up`);
    });
    await client.setWeight('split', 30);

    const keyless = await pool(8, Array.from({ length: 200 }), () => inferFeatures(url, 'split', [ROWS[0]!]));
    const keylessCanary = keyless.filter((a) => a.json.slot === 'canary').length;
    assert.ok(keylessCanary > 20 && keylessCanary < 110, `${keylessCanary} of 200 keyless requests on the canary at weight 30`);
  });

  test('/metrics has request counters and durations for both slots, shadow counters and the canary weight', async () => {
    const response = await fetch(`${url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = await response.text();
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(series + ' '));
      assert.ok(line, `no ${series} in /metrics`);
      return Number(line.slice(series.length + 1));
    };
    const stable = value('modelship_requests_total{model="split",slot="stable"}');
    const canary = value('modelship_requests_total{model="split",slot="canary"}');
    assert.ok(stable > 500 && canary > 200, `stable ${stable}, canary ${canary}`);
    assert.equal(value('modelship_request_errors_total{model="split",slot="stable"}'), 0);
    assert.equal(value('modelship_request_errors_total{model="split",slot="canary"}'), 0);
    assert.equal(value('modelship_request_duration_seconds_count{model="split",slot="canary"}'), canary);
    assert.ok(value('modelship_request_duration_seconds_bucket{le="0.0005",model="split",slot="stable"}') >= 0);
    assert.equal(value('modelship_request_duration_seconds_bucket{le="+Inf",model="split",slot="stable"}'), stable);
    assert.equal(value('modelship_canary_weight{model="split"}'), 30);
    assert.equal(value('modelship_shadow_comparisons_total{model="split",result="agree"}'), 0);
    assert.equal(value('modelship_slot_info{model="split",slot="canary",version="2.0.0",digest="sha256:' + (await client.status('split')).slots.canary!.digest.slice(7) + '"}'), 1);
  });
});

describe('shadow mode', () => {
  test('stable answers unchanged; the canary runs on the same inputs and the comparisons are recorded', async () => {
    const v1 = await bundle('shadowed', '1.0.0');
    const v2 = await bundle('shadowed', '2.0.0', { modelPath: perturbedModel });
    await client.deploy('shadowed', 'stable', v1.bundleDir);
    await client.deploy('shadowed', 'canary', v2.bundleDir);
    const on = await client.setShadow('shadowed', true);
    assert.equal(on.status.shadow, true);
    const since = Date.now();

    const stableArgmax = argmaxRows(await runDirect(SAMPLE_MODEL, ROWS), 3);
    const canaryArgmax = argmaxRows(await runDirect(perturbedModel, ROWS), 3);
    const expectAgree = stableArgmax.map((a, i) => a === canaryArgmax[i]);
    assert.ok(expectAgree.includes(true) && expectAgree.includes(false), `fixture: the perturbed model should agree on some rows only (${stableArgmax} vs ${canaryArgmax})`);

    const answers: InferAnswer[] = [];
    for (const [i, row] of ROWS.entries()) {
      const answer = await inferFeatures(url, 'shadowed', [row], `shadow-key-${i}`);
      assert.equal(answer.status, 200);
      assert.equal(answer.json.slot, 'stable');
      assert.equal(answer.json.version, '1.0.0');
      assert.deepEqual(answer.json.outputs.probabilities!.data, await runDirect(SAMPLE_MODEL, [row]), 'shadow mode changed the answer');
      answers.push(answer.json);
    }

    const observed = await eventually('three shadow comparisons', async () => {
      const o = await client.observations('shadowed', since);
      return o.shadow.length >= 3 ? o : undefined;
    });
    assert.equal(observed.shadow.length, 3);
    assert.deepEqual(observed.shadow.map((c) => c.agree), expectAgree);
    for (const c of observed.shadow) {
      assert.equal(c.stableVersion, '1.0.0');
      assert.equal(c.canaryVersion, '2.0.0');
      assert.equal(c.error, false);
      assert.ok(typeof c.maxAbsDiff === 'number' && c.maxAbsDiff >= 0 && c.maxAbsDiff <= 1);
      assert.ok(c.t >= since);
    }
    assert.equal(observed.slots.stable.length, 3);
    assert.equal(observed.slots.canary.length, 0, 'shadow runs are not canary traffic');
    assert.ok(observed.slots.stable.every((o) => o.error === false && o.latencyMs >= 0 && o.version === '1.0.0'));

    const metrics = await (await fetch(`${url}/metrics`)).text();
    const agreeCount = expectAgree.filter(Boolean).length;
    assert.match(metrics, new RegExp(`modelship_shadow_comparisons_total\\{model="shadowed",result="agree"\\} ${agreeCount}\\n`));
    assert.match(metrics, new RegExp(`modelship_shadow_comparisons_total\\{model="shadowed",result="disagree"\\} ${3 - agreeCount}\\n`));

    // Nothing is recorded for a since in the future; shadow off stops the comparisons.
    assert.equal((await client.observations('shadowed', Date.now() + 60_000)).shadow.length, 0);
    await client.setShadow('shadowed', false);
    const offSince = Date.now();
    await inferFeatures(url, 'shadowed', [ROWS[2]!]);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await client.observations('shadowed', offSince)).shadow.length, 0);
  });

  test('the agreement rule: argmax per row for 2-D float outputs, |diff| <= 1e-3 otherwise', () => {
    const t = (data: number[], dims: number[]) => new ort.Tensor('float32', Float32Array.from(data), dims);
    const agree = compareShadow({ p: t([0.1, 0.9, 0.6, 0.4], [2, 2]) }, { p: t([0.4, 0.6, 0.9, 0.1], [2, 2]) }, ['p']);
    assert.equal(agree.agree, true);
    assert.ok(Math.abs(agree.maxAbsDiff! - 0.3) < 1e-6);
    const flipped = compareShadow({ p: t([0.1, 0.9], [1, 2]) }, { p: t([0.6, 0.4], [1, 2]) }, ['p']);
    assert.equal(flipped.agree, false);
    assert.match(flipped.reason!, /row 0 argmax differs/);
    assert.equal(compareShadow({ y: t([1, 2, 3], [3]) }, { y: t([1.0005, 2, 3], [3]) }, ['y']).agree, true);
    assert.equal(compareShadow({ y: t([1, 2, 3], [3]) }, { y: t([1.01, 2, 3], [3]) }, ['y']).agree, false);
    const shape = compareShadow({ y: t([1, 2], [2]) }, { y: t([1, 2], [1, 2]) }, ['y']);
    assert.equal(shape.agree, false);
    assert.equal(shape.maxAbsDiff, null);
  });
});

describe('promote and rollback', () => {
  test('promote: canary becomes stable at 100%, canary empty, weight 0, old stable kept; rollback: canary first, then previousStable', async () => {
    const [v1, v2, v3] = await Promise.all(['1.0.0', '2.0.0', '3.0.0'].map((v) => bundle('flow', v)));
    await client.deploy('flow', 'stable', v1!.bundleDir);
    await client.deploy('flow', 'canary', v2!.bundleDir);
    await client.setWeight('flow', 40);

    const promoted = await client.promote('flow');
    assert.equal(promoted.changed, true);
    assert.equal(promoted.status.slots.stable!.version, '2.0.0');
    assert.equal(promoted.status.slots.canary, null);
    assert.equal(promoted.status.canaryWeight, 0);
    assert.equal(promoted.status.previousStable!.version, '1.0.0');
    assert.equal(promoted.status.previousStable!.bundleDir, v1!.bundleDir);
    const afterPromote = await Promise.all(Array.from({ length: 20 }, (_, i) => inferFeatures(url, 'flow', [ROWS[0]!], `k${i}`)));
    assert.ok(afterPromote.every((a) => a.json.slot === 'stable' && a.json.version === '2.0.0'));
    await assert.rejects(client.promote('flow'), (err: unknown) => err instanceof ServingRejectedError && err.status === 409 && /no canary loaded to promote/.test(err.message));

    // With a canary: rollback drops it (weight 0, slot cleared), stable untouched.
    await client.deploy('flow', 'canary', v3!.bundleDir);
    await client.setWeight('flow', 50);
    const dropped = await client.rollback('flow');
    assert.equal(dropped.status.slots.canary, null);
    assert.equal(dropped.status.canaryWeight, 0);
    assert.equal(dropped.status.slots.stable!.version, '2.0.0');
    assert.equal(dropped.status.previousStable!.version, '1.0.0');
    const afterDrop = await Promise.all(Array.from({ length: 20 }, (_, i) => inferFeatures(url, 'flow', [ROWS[0]!], `k${i}`)));
    assert.ok(afterDrop.every((a) => a.json.version === '2.0.0'));

    // Without a canary: rollback restores previousStable into stable.
    const restored = await client.rollback('flow');
    assert.equal(restored.status.slots.stable!.version, '1.0.0');
    assert.equal(restored.status.slots.stable!.bundleDir, v1!.bundleDir);
    assert.equal(restored.status.previousStable, null);
    assert.match(restored.message, /restored to flow@1\.0\.0/);
    assert.equal((await inferFeatures(url, 'flow', [ROWS[0]!])).json.version, '1.0.0');
    await assert.rejects(client.rollback('flow'), (err: unknown) => err instanceof ServingRejectedError && err.status === 409 && /nothing to roll back/.test(err.message));
  });
});

describe('refused bundles', () => {
  test('a tampered, an unsigned and an untrusted bundle are refused with the failing checks; the slot keeps serving', async () => {
    const good = await bundle('guarded', '1.0.0');
    await client.deploy('guarded', 'stable', good.bundleDir);
    const before = stableView(await client.status('guarded'));

    const tampered = await bundle('guarded', '2.0.0');
    const modelFile = join(tampered.paths.modelDir, tampered.modelFile);
    const bytes = await readFile(modelFile);
    bytes[bytes.length - 5]! ^= 0x01;
    await writeFile(modelFile, bytes);

    const unsigned = await bundle('guarded', '3.0.0');
    await rm(unsigned.paths.signature);

    const untrusted = await bundle('guarded', '4.0.0', { key: rogue });

    const refusals: Array<[SignedBundle, 'stable' | 'canary', string, RegExp]> = [
      [tampered, 'stable', 'files', /model\/sample-mlp\.onnx: sha256 [0-9a-f]{64}, model\.yaml says/],
      [tampered, 'canary', 'files', /files:/],
      [unsigned, 'stable', 'signature', /model\.jws: ENOENT/],
      [untrusted, 'stable', 'signature', /signed by kid .* not a trusted key/],
    ];
    for (const [b, slot, check, pattern] of refusals) {
      const err = await client.deploy('guarded', slot, b.bundleDir).then(
        () => assert.fail(`${b.manifest.version} was deployed`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ServingRejectedError, String(err));
      assert.equal(err.status, 422);
      assert.equal(err.retryable, false);
      const failed = (err.body as { failedChecks: Array<{ check: string; ok: boolean; detail: string }> }).failedChecks;
      assert.ok(failed.some((c) => c.check === check && !c.ok), `${b.manifest.version}: failing checks ${JSON.stringify(failed)}`);
      assert.ok(failed.every((c) => !c.ok), 'only failing checks are listed');
      assert.match(err.message, pattern);
    }
    assert.deepEqual(stableView(await client.status('guarded')), before);
    const answer = await inferFeatures(url, 'guarded', ROWS);
    assert.equal(answer.status, 200);
    assert.equal(answer.json.version, '1.0.0');

    const otherModel = await bundle('someone-else', '1.0.0');
    await assert.rejects(client.deploy('guarded', 'stable', otherModel.bundleDir), (err: unknown) => err instanceof ServingRejectedError && err.status === 409 && /release of someone-else, not of guarded/.test(err.message));
    await assert.rejects(client.deploy('guarded', 'stable', 'relative/dir'), (err: unknown) => err instanceof ServingRejectedError && err.status === 400 && /absolute path/.test(err.message));
    await assert.rejects(client.deploy('guarded', 'stable', join(base, 'does-not-exist')), (err: unknown) => err instanceof ServingRejectedError && err.status === 422);
    assert.deepEqual(stableView(await client.status('guarded')), before);
  });
});

describe('hot swap', () => {
  test('20 swaps between two versions under 8 concurrent clients: zero failed requests, both versions answer, old sessions drained', async () => {
    const v1 = await bundle('hot', '1.0.0');
    const v2 = await bundle('hot', '2.0.0');
    await client.deploy('hot', 'stable', v1.bundleDir);

    let stop = false;
    const failures: string[] = [];
    const versions = new Map<string, number>();
    let total = 0;
    const started = Date.now();
    const clients = Array.from({ length: 8 }, async (_, c) => {
      for (let i = 0; !stop; i++) {
        try {
          const answer = await inferFeatures(url, 'hot', ROWS, `client-${c}-${i}`);
          total++;
          if (answer.status !== 200) failures.push(`${answer.status} ${JSON.stringify(answer.json)}`);
          else versions.set(answer.json.version, (versions.get(answer.json.version) ?? 0) + 1);
        } catch (err) {
          failures.push(String(err));
        }
      }
    });
    // How many swaps found the outgoing model still running requests (it then drains before release).
    let swapsWithRequestsInFlight = 0;
    for (let swap = 0; swap < 20; swap++) {
      const target = swap % 2 === 0 ? v2 : v1;
      const result = await client.deploy('hot', 'stable', target.bundleDir);
      assert.equal(result.changed, true);
      if (result.status.draining > 0) swapsWithRequestsInFlight++;
      await new Promise((r) => setTimeout(r, 20));
    }
    // At least 2 s and 200 requests, however slow a loaded machine serves them (bounded, to fail rather than hang).
    while ((Date.now() - started < 2000 || total < 200) && Date.now() - started < 120_000) await new Promise((r) => setTimeout(r, 50));
    stop = true;
    await Promise.all(clients);

    const summary = `${total} requests, versions ${JSON.stringify([...versions])}, ${swapsWithRequestsInFlight}/20 swaps with requests in flight`;
    assert.deepEqual(failures, [], `${failures.length} failed: ${summary}`);
    assert.ok(total >= 200, summary);
    assert.ok((versions.get('1.0.0') ?? 0) > 0 && (versions.get('2.0.0') ?? 0) > 0, summary);
    const status = await eventually('swapped-out sessions to drain', async () => {
      const s = await client.status('hot');
      return s.draining === 0 ? s : undefined;
    });
    assert.equal(status.slots.stable!.version, '1.0.0', '20 swaps end on v1');
    assert.equal(status.slots.stable!.inFlight, 0);
  });
});

describe('admin API authentication', () => {
  test('unsigned, mis-signed, old, future and replayed requests are 401 and change nothing', async () => {
    const v1 = await bundle('locked', '1.0.0');
    const v2 = await bundle('locked', '2.0.0');
    await client.deploy('locked', 'stable', v1.bundleDir);
    await client.deploy('locked', 'canary', v2.bundleDir);
    await client.setWeight('locked', 20);
    const before = stableView(await client.status('locked'));
    const setWeight = { method: 'PUT', path: '/admin/v1/models/locked/weight', body: { canaryWeight: 90 } };

    const attempts: Array<[string, Promise<{ status: number; json: { error: string } }>, RegExp]> = [
      ['unsigned', adminRequest(url, secret, setWeight, { unsigned: true }), /missing header/],
      ['wrong secret', adminRequest(url, secret, setWeight, { secret: 'not-the-secret-at-all' }), /bad signature/],
      ['body swapped after signing', adminRequest(url, secret, { ...setWeight, body: { canaryWeight: 5 } }, { sendBody: JSON.stringify(setWeight.body) }), /bad signature/],
      ['old timestamp', adminRequest(url, secret, setWeight, { timestamp: Date.now() - 120_000 }), /old; admin requests are accepted within ±60 s/],
      ['future timestamp', adminRequest(url, secret, setWeight, { timestamp: Date.now() + 120_000 }), /in the future/],
      ['short nonce', adminRequest(url, secret, setWeight, { nonce: 'abcd' }), /at least 16 random bytes/],
      ['unsigned listing', adminRequest(url, secret, { method: 'GET', path: '/admin/v1/models' }, { unsigned: true }), /missing header/],
      ['unsigned deploy', adminRequest(url, secret, { method: 'PUT', path: '/admin/v1/models/locked/slots/stable', body: { bundleDir: v2.bundleDir } }, { unsigned: true }), /missing header/],
      ['unsigned promote', adminRequest(url, secret, { method: 'POST', path: '/admin/v1/models/locked/promote' }, { unsigned: true }), /missing header/],
    ];
    for (const [what, attempt, pattern] of attempts) {
      const answer = await attempt;
      assert.equal(answer.status, 401, `${what}: ${answer.status} ${JSON.stringify(answer.json)}`);
      assert.match(answer.json.error, pattern, what);
    }

    // Replay: the exact same signed request, twice. The first is accepted, the copy is not.
    const timestamp = Date.now();
    const nonce = randomBytes(16).toString('hex');
    const first = await adminRequest(url, secret, { ...setWeight, body: { canaryWeight: 35 } }, { timestamp, nonce });
    assert.equal(first.status, 200);
    await client.setWeight('locked', 20);
    const replay = await adminRequest(url, secret, { ...setWeight, body: { canaryWeight: 35 } }, { timestamp, nonce });
    assert.equal(replay.status, 401);
    assert.match(replay.json.error, /replayed/);

    assert.deepEqual(stableView(await client.status('locked')), before, 'a refused admin request changed state');
    const wrongClient = new ServingAdminClient({ baseUrl: url, secret: 'x'.repeat(32) });
    await assert.rejects(wrongClient.status('locked'), (err: unknown) => err instanceof ServingRejectedError && err.status === 401 && /bad signature/.test(err.message));
    const listed = await client.list();
    assert.ok(listed.models.some((m) => m.name === 'locked'));
    assert.ok(!JSON.stringify(listed).includes(secret));
  });

  test('nonces are forgotten once their timestamp leaves the window, and memory is bounded', () => {
    let now = 1_000_000;
    const auth = new AdminAuthenticator({ secret: 's'.repeat(32), maxNonces: 3, now: () => now });
    const sign = (nonce: string) => signAdminRequest({ secret: 's'.repeat(32), method: 'GET', pathWithQuery: '/admin/v1/models', timestamp: now, nonce });
    const check = (headers: Record<string, string>) => auth.verify('GET', '/admin/v1/models', headers, Buffer.alloc(0));
    const nonce = (i: number) => i.toString(16).padStart(32, '0');
    assert.deepEqual(check(sign(nonce(1))), { ok: true, kid: 'default' });
    assert.deepEqual(check(sign(nonce(2))), { ok: true, kid: 'default' });
    assert.deepEqual(check(sign(nonce(3))), { ok: true, kid: 'default' });
    const full = check(sign(nonce(4)));
    assert.equal(full.ok, false);
    assert.equal(!full.ok && full.status, 429);
    assert.equal(auth.rememberedNonces, 3);
    now += 61_000;
    assert.deepEqual(check(sign(nonce(4))), { ok: true, kid: 'default' });
    assert.equal(auth.rememberedNonces, 1, 'expired nonces were forgotten');
  });
});

describe('restart', () => {
  test('a new runtime on the same state dir has the same slots, weight, shadow and previousStable; a bundle tampered meanwhile is not loaded', async () => {
    const stateDir = join(base, 'restart-state');
    const config = { host: '127.0.0.1', port: 0, stateDir, trustedKeysDir: keysDir, adminSecret: secret, logger };
    const [v1, v2, v3] = await Promise.all(['1.0.0', '2.0.0', '3.0.0'].map((v) => bundle('durable', v)));
    const first = await startServingRuntime(config);
    const firstClient = new ServingAdminClient({ baseUrl: first.url, secret });
    await firstClient.deploy('durable', 'stable', v1!.bundleDir);
    await firstClient.deploy('durable', 'canary', v2!.bundleDir);
    await firstClient.promote('durable');
    await firstClient.deploy('durable', 'canary', v3!.bundleDir);
    await firstClient.setWeight('durable', 25);
    await firstClient.setShadow('durable', true);
    const before = stableView(await firstClient.status('durable'));
    assert.deepEqual(
      [before.stable?.version, before.canary?.version, before.previousStable?.version, before.canaryWeight, before.shadow],
      ['2.0.0', '3.0.0', '1.0.0', 25, true],
    );
    await assert.rejects(startServingRuntime(config), /in use by another serving runtime/);
    await first.close();
    await assert.rejects(firstClient.status('durable'), (err: unknown) => err instanceof ServingUnavailableError && err.retryable === true && /ECONNREFUSED/.test(err.message));

    const second = await startServingRuntime(config);
    try {
      const secondClient = new ServingAdminClient({ baseUrl: second.url, secret });
      assert.deepEqual(stableView(await secondClient.status('durable')), before);
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => inferFeatures(second.url, 'durable', [ROWS[1]!], `r${i}`)));
      assert.ok(answers.every((a) => a.status === 200));
      assert.deepEqual(new Set(answers.map((a) => a.json.version)), new Set(['2.0.0', '3.0.0']));
      answers.forEach((a, i) => assert.equal(a.json.slot, trafficBucket('durable', `r${i}`) < 25 ? 'canary' : 'stable'));
    } finally {
      await second.close();
    }

    // While it is down, the canary's bundle is tampered with: the next start refuses to load it.
    const canaryModel = join(v3!.paths.modelDir, v3!.modelFile);
    const bytes = await readFile(canaryModel);
    bytes[bytes.length - 5]! ^= 0x01;
    await writeFile(canaryModel, bytes);
    const third = await startServingRuntime(config);
    try {
      const thirdClient = new ServingAdminClient({ baseUrl: third.url, secret });
      const status = await thirdClient.status('durable');
      assert.equal(status.slots.stable!.state, 'serving');
      assert.equal(status.slots.canary!.state, 'failed');
      assert.match(status.slots.canary!.error!, /refused: files:/);
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => inferFeatures(third.url, 'durable', [ROWS[1]!], `r${i}`)));
      assert.ok(answers.every((a) => a.status === 200 && a.json.version === '2.0.0'), 'only stable answers while the canary cannot load');
      const rolledBack = await thirdClient.rollback('durable');
      assert.equal(rolledBack.status.slots.canary, null);
      assert.equal(rolledBack.status.slots.stable!.version, '2.0.0');
    } finally {
      await third.close();
    }
  });
});

test('the admin secret never appears in the logs', () => {
  assert.ok(logLines.length > 10, 'the runtime logged');
  assert.ok(logLines.every((line) => !line.includes(secret)));
  assert.ok(logLines.some((line) => line.includes('admin request refused')));
});
