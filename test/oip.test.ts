// The Open Inference Protocol (v2 REST) on the serving runtime, driven by a real client:
// NVIDIA's tritonclient[http] from PyPI (in the project venv), against a real server with real
// signed bundles and onnxruntime-node sessions. Header routing and version addressing too.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import ort from 'onnxruntime-node';
import { pino } from 'pino';
import { analyzeCanary } from '../src/activities/canary.js';
import type { ActivityDeps } from '../src/activities/deps.js';
import type { Judgement } from '../src/canary/analysis/types.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { ServingAdminClient } from '../src/serving-client/admin-client.js';
import { halfToNumber, numberToHalf } from '../src/tensor/half-float.js';
import { trafficBucket } from '../src/serving/dataplane/traffic-split.js';
import { startServingRuntime, type ServingRuntime } from '../src/serving/serve.js';
import { makeSignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys, SAMPLE_MODEL, TempDirs, type TestKeys } from './helpers/fixtures.js';
import { identityModelBytes, writePerturbedModel } from './helpers/serving-fixture.js';

const PYTHON = join(PROJECT_ROOT, '.venv', 'bin', 'python');
const CLIENT_SCRIPT = join(PROJECT_ROOT, 'test', 'fixtures', 'oip_tritonclient.py');
const temp = new TempDirs();
const secret = randomBytes(32).toString('hex');

/** Rows near the sample model's three training blob centres (one per class). */
const ROWS = [
  [-2, 1, 0, -1],
  [2, 1.5, -1, 0.5],
  [0, -2, 1.5, 1],
];

const TYPES = ['float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool', 'float16', 'float64', 'uint32', 'uint64'] as const;
const DATATYPE: Record<(typeof TYPES)[number], string> = {
  float32: 'FP32', uint8: 'UINT8', int8: 'INT8', uint16: 'UINT16', int16: 'INT16', int32: 'INT32', int64: 'INT64',
  string: 'BYTES', bool: 'BOOL', float16: 'FP16', float64: 'FP64', uint32: 'UINT32', uint64: 'UINT64',
};
/** 2×3 values per type, including each type's extremes (64-bit ones within JSON's exact range). */
const VALUES: Record<(typeof TYPES)[number], unknown[]> = {
  float32: [0.5, -1.25, 3.4028234663852886e38, 1.1754943508222875e-38, 0, -3.5],
  uint8: [0, 1, 255, 128, 7, 9],
  int8: [-128, 127, 0, -1, 5, -6],
  uint16: [0, 65535, 1, 2, 3, 4],
  int16: [-32768, 32767, 0, -1, 2, -3],
  int32: [-2147483648, 2147483647, 0, -1, 2, -3],
  int64: [-9007199254740991, 9007199254740991, 0, -1, 2, -3],
  string: ['', 'a', 'héllo', '日本', 'with space', 'tab\there'],
  bool: [true, false, true, true, false, false],
  float16: [0.5, -2, 65504, 6.103515625e-5, 0.333251953125, 0],
  float64: [Math.PI, -Number.MAX_VALUE, Number.MIN_VALUE, 1e-300, 0, 2],
  uint32: [0, 4294967295, 1, 2, 3, 4],
  uint64: [0, 9007199254740991, 1, 2, 3, 4],
};

let base: string;
let keys: TestKeys;
let runtime: ServingRuntime;
let url: string;
let hostPort: string;
let admin: ServingAdminClient;
let perturbed: string;

before(async () => {
  base = await temp.make('modelship-oip-');
  keys = await makeKeys(join(base, 'keys'), 'release');
  perturbed = join(base, 'perturbed-mlp.onnx');
  await writePerturbedModel(SAMPLE_MODEL, perturbed, 'b2', [100, 0, 0]);
  const typesModel = join(base, 'alltypes.onnx');
  await writeFile(typesModel, identityModelBytes(TYPES));
  runtime = await startServingRuntime({ host: '127.0.0.1', port: 0, stateDir: join(base, 'state'), trustedKeysDir: join(base, 'keys'), adminSecret: secret, logger: pino({ level: 'warn' }) });
  url = runtime.url;
  hostPort = url.replace(/^http:\/\//, '');
  admin = new ServingAdminClient({ baseUrl: url, secret });
  const bundle = (name: string, version: string, modelPath: string) => makeSignedBundle(join(base, 'bundles', `${name}-${version}`), keys.signingKey, { name, version, modelPath });
  await admin.deploy('mlp', 'stable', (await bundle('mlp', '1.0.0', SAMPLE_MODEL)).bundleDir);
  await admin.deploy('mlp', 'canary', (await bundle('mlp', '2.0.0', perturbed)).bundleDir);
  await admin.deploy('alltypes', 'stable', (await bundle('alltypes', '1.0.0', typesModel)).bundleDir);
});

after(async () => {
  await runtime?.close();
  await temp.cleanup();
});

/** Runs the tritonclient script over `steps` (in another process: the server runs in this one); one result per step. */
async function triton(steps: readonly Record<string, unknown>[]): Promise<any[]> {
  const child = spawn(PYTHON, [CLIENT_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000 });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(JSON.stringify({ url: hostPort, steps }));
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0, `tritonclient script failed: ${stderr}`);
  return JSON.parse(stdout) as any[];
}

async function runDirect(modelPath: string, rows: readonly number[][]): Promise<number[]> {
  const session = await ort.InferenceSession.create(modelPath, { logSeverityLevel: 3 });
  try {
    const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]) });
    return Array.from(out.probabilities!.data as Float32Array);
  } finally {
    await session.release();
  }
}

const featuresInput = (rows: readonly number[][]) => ({ name: 'features', datatype: 'FP32', shape: [rows.length, 4], data: rows.flat() });

async function metric(series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `no ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

describe('Open Inference Protocol with tritonclient', () => {
  test('health, server metadata, model readiness and metadata (inputs and outputs from the model)', async () => {
    const [live, ready, server, modelReady, canaryReady, missingReady, meta, canaryMeta, typesMeta] = await triton([
      { op: 'live' },
      { op: 'ready' },
      { op: 'server_metadata' },
      { op: 'model_ready', model: 'mlp' },
      { op: 'model_ready', model: 'mlp', version: '2.0.0' },
      { op: 'model_ready', model: 'mlp', version: '9.9.9' },
      { op: 'model_metadata', model: 'mlp' },
      { op: 'model_metadata', model: 'mlp', version: '2.0.0' },
      { op: 'model_metadata', model: 'alltypes' },
    ]);
    assert.equal(live, true);
    assert.equal(ready, true);
    assert.equal(server.name, 'modelship');
    assert.ok(server.extensions.includes('binary_tensor_data'));
    assert.equal(modelReady, true);
    assert.equal(canaryReady, true, 'the canary version is addressable');
    assert.equal(missingReady, false);
    assert.equal(meta.name, 'mlp');
    assert.deepEqual(meta.versions, ['1.0.0', '2.0.0']);
    assert.equal(meta.platform, 'onnxruntime_onnx');
    assert.deepEqual(meta.inputs, [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(meta.outputs, [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }]);
    assert.equal(canaryMeta.parameters.version, '2.0.0');
    assert.deepEqual(typesMeta.inputs.map((i: any) => i.datatype), TYPES.map((t) => DATATYPE[t]));
  });

  test('infer in JSON and in binary: the outputs equal onnxruntime-node run directly', async () => {
    const expected = await runDirect(SAMPLE_MODEL, ROWS);
    const [json, binary, defaults] = await triton([
      { op: 'infer', model: 'mlp', inputs: [featuresInput(ROWS)], binary_inputs: false, outputs: [{ name: 'probabilities', binary: false }], id: 'req-1' },
      { op: 'infer', model: 'mlp', inputs: [featuresInput(ROWS)], binary_inputs: true, outputs: [{ name: 'probabilities', binary: true }] },
      { op: 'infer', model: 'mlp', inputs: [featuresInput(ROWS)], binary_inputs: true },
    ]);
    for (const [what, answer] of [['json', json], ['binary', binary], ['client defaults', defaults]] as const) {
      assert.equal(answer.ok, true, `${what}: ${JSON.stringify(answer)}`);
      assert.equal(answer.model_version, '1.0.0', 'at weight 0 the stable answers');
      assert.equal(answer.parameters.slot, 'stable');
      assert.deepEqual(answer.outputs.probabilities.shape, [3, 3]);
      assert.deepEqual(answer.outputs.probabilities.data, expected, `${what}: probabilities differ from onnxruntime-node's`);
    }
    assert.equal(json.id, 'req-1');
    assert.equal(json.outputs.probabilities.binary, false);
    assert.equal(binary.outputs.probabilities.binary, true);
    assert.deepEqual(Object.keys(binary.outputs), ['probabilities'], 'only the requested output');
    assert.equal(defaults.outputs.probabilities.binary, true, 'without outputs the client asks for every output in binary');
    assert.deepEqual(Object.keys(defaults.outputs), ['probabilities']);
  });

  test('every datatype the protocol has, in JSON and in binary, comes back through onnxruntime unchanged', async () => {
    const inputs = TYPES.map((t) => ({ name: `in_${t}`, datatype: DATATYPE[t], shape: [2, 3], data: VALUES[t] }));
    const outputs = (binary: boolean) => TYPES.map((t) => ({ name: `out_${t}`, binary }));
    const [json, binary] = await triton([
      { op: 'infer', model: 'alltypes', inputs, binary_inputs: false, outputs: outputs(false) },
      { op: 'infer', model: 'alltypes', inputs, binary_inputs: true, outputs: outputs(true) },
    ]);
    for (const [what, answer] of [['json', json], ['binary', binary]] as const) {
      assert.equal(answer.ok, true, `${what}: ${JSON.stringify(answer)}`);
      for (const t of TYPES) {
        const out = answer.outputs[`out_${t}`];
        assert.equal(out.datatype, DATATYPE[t], `${what} ${t}`);
        assert.deepEqual(out.shape, [2, 3], `${what} ${t}`);
        assert.deepEqual(out.data, VALUES[t], `${what} ${t}: ${JSON.stringify(out.data)}`);
      }
    }
  });

  test('nested JSON data and a binary request and response taken apart by hand', async () => {
    const nested = await fetch(`${url}/v2/models/mlp/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [3, 4], data: ROWS }], outputs: [{ name: 'probabilities' }] }),
    });
    assert.equal(nested.status, 200);
    const answer = (await nested.json()) as any;
    assert.deepEqual(answer.outputs[0].data, await runDirect(SAMPLE_MODEL, ROWS));
    assert.equal(answer.model_name, 'mlp');

    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [3, 4], parameters: { binary_data_size: 48 } }], parameters: { binary_data_output: true } }));
    const response = await fetch(`${url}/v2/models/mlp/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, Buffer.from(Float32Array.from(ROWS.flat()).buffer)]),
    });
    assert.equal(response.status, 200);
    const n = Number(response.headers.get('inference-header-content-length'));
    const bytes = Buffer.from(await response.arrayBuffer());
    const json = JSON.parse(bytes.subarray(0, n).toString('utf8'));
    let offset = n;
    const raw: Record<string, Buffer> = {};
    for (const o of json.outputs) {
      raw[o.name] = bytes.subarray(offset, offset + o.parameters.binary_data_size);
      offset += o.parameters.binary_data_size;
    }
    assert.equal(offset, bytes.length);
    const probabilities = new Float32Array(raw.probabilities!.buffer.slice(raw.probabilities!.byteOffset, raw.probabilities!.byteOffset + raw.probabilities!.length));
    assert.deepEqual(Array.from(probabilities), await runDirect(SAMPLE_MODEL, ROWS));
  });

  test('half precision: every 16-bit pattern but NaN survives bits → number → bits', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = halfToNumber(bits);
      if (Number.isNaN(value)) continue;
      assert.equal(numberToHalf(value), bits, `0x${bits.toString(16)}`);
    }
    assert.equal(numberToHalf(65520), 0x7c00, 'rounds past the largest half to Infinity');
    assert.equal(numberToHalf(1 + 2 ** -11), 0x3c00, 'ties round to even');
  });
});

describe('malformed requests', () => {
  test('each gets the protocol error body and status, and changes nothing', async () => {
    const since = Date.now();
    const before = await admin.status('mlp');
    const requestsBefore = await metric('modelship_requests_total{model="mlp",slot="stable"}');
    const post = (body: string | Buffer, headers: Record<string, string> = {}, path = '/v2/models/mlp/infer') =>
      fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const header = (doc: unknown) => Buffer.from(JSON.stringify(doc));
    const binaryInput = { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }] };
    const cases: Array<[string, Promise<Response>, number, RegExp]> = [
      ['not JSON', post('{"inputs": '), 400, /not valid JSON/],
      ['no inputs', post('{}'), 400, /"inputs" must be a non-empty array/],
      ['unknown datatype', post(JSON.stringify({ inputs: [{ name: 'features', datatype: 'FLOAT', shape: [1, 4], data: [1, 2, 3, 4] }] })), 400, /datatype "FLOAT" is not one of/],
      ['wrong datatype', post(JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP64', shape: [1, 4], data: [1, 2, 3, 4] }] })), 400, /datatype is FP64, the model takes FP32/],
      ['wrong shape', post(JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 5], data: [1, 2, 3, 4, 5] }] })), 400, /shape\[1\] is 5, the model expects 4/],
      ['count', post(JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3] }] })), 400, /data has 3 value\(s\), but the shape needs 8/],
      ['unknown input', post(JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }, { name: 'x', datatype: 'FP32', shape: [1], data: [1] }] })), 400, /input "x": the model has no input of that name/],
      ['unknown output', post(JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }], outputs: [{ name: 'nope' }] })), 400, /output "nope": the model has no output/],
      ['header length past the body', post(header(binaryInput), { 'inference-header-content-length': '9999' }), 400, /the body has only/],
      ['binary too short', post(Buffer.concat([header(binaryInput), Buffer.alloc(8)]), { 'inference-header-content-length': String(header(binaryInput).length) }), 400, /takes 16 bytes of binary data at offset 0, but only 8 follow/],
      ['binary left over', post(Buffer.concat([header(binaryInput), Buffer.alloc(20)]), { 'inference-header-content-length': String(header(binaryInput).length) }), 400, /20 bytes of binary data follow the header, but the inputs take 16/],
      ['bad header length', post('{}', { 'inference-header-content-length': 'ten' }), 400, /must be one byte count/],
      ['NUL in BYTES', post(JSON.stringify({ inputs: TYPES.map((t) => ({ name: `in_${t}`, datatype: DATATYPE[t], shape: [2, 3], data: t === 'string' ? ['a', 'b', 'c', 'd', 'e', 'x\u0000y'] : VALUES[t] })) }), {}, '/v2/models/alltypes/infer'), 400, /data\[5\] contains a NUL character/],
      ['forced slot value', post('{}', { 'x-modelship-slot': 'blue' }), 400, /x-modelship-slot must be "stable" or "canary"/],
      ['unknown model', post('{}', {}, '/v2/models/nope/infer'), 404, /no model named "nope"/],
      ['unknown version', post(JSON.stringify({ inputs: [featuresInput([ROWS[0]!])] }), {}, '/v2/models/mlp/versions/7.7.7/infer'), 404, /mlp has no version "7\.7\.7" loaded \(stable 1\.0\.0, canary 2\.0\.0\)/],
      ['wrong method', fetch(`${url}/v2/models/mlp/infer`), 405, /GET is not allowed/],
      ['no route', fetch(`${url}/v2/models/mlp/explain`), 404, /no route/],
    ];
    for (const [what, pending, status, pattern] of cases) {
      const response = await pending;
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(response.status, status, `${what}: ${JSON.stringify(body)}`);
      assert.deepEqual(Object.keys(body), ['error'], `${what}: the body is { "error": "…" } only`);
      assert.match(body.error as string, pattern, what);
    }
    const [viaClient] = await triton([{ op: 'infer', model: 'mlp', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }], binary_inputs: true }]);
    assert.equal(viaClient.ok, false);
    assert.equal(viaClient.status, '400');
    assert.match(viaClient.message, /shape\[1\] is 3, the model expects 4/);

    const observed = await admin.observations('mlp', since);
    assert.deepEqual([observed.slots.stable.length, observed.slots.canary.length, observed.forced.stable.length, observed.forced.canary.length], [0, 0, 0, 0], 'no request was recorded');
    assert.equal(await metric('modelship_requests_total{model="mlp",slot="stable"}'), requestsBefore);
    assert.deepEqual(await admin.status('mlp'), before);
  });
});

describe('header routing', () => {
  test('x-modelship-slot and a version reach the canary at weight 0; shadow, metrics and analysis count them apart', async () => {
    await admin.setShadow('mlp', true);
    assert.equal((await admin.status('mlp')).canaryWeight, 0);
    const since = Date.now();
    const expectedCanary = await runDirect(perturbed, ROWS);
    const infer = (extra: Record<string, unknown>) => ({ op: 'infer', model: 'mlp', inputs: [featuresInput(ROWS)], binary_inputs: true, outputs: [{ name: 'probabilities', binary: true }], ...extra });
    const answers = await triton([
      ...Array.from({ length: 10 }, () => infer({ headers: { 'x-modelship-slot': 'canary' } })),
      ...Array.from({ length: 5 }, () => infer({ version: '2.0.0' })),
      ...Array.from({ length: 5 }, () => infer({ headers: { 'x-modelship-slot': 'stable' } })),
      ...Array.from({ length: 30 }, (_, i) => infer({ headers: { 'x-request-key': `user-${i}` } })),
    ]);
    assert.ok(answers.every((a) => a.ok), JSON.stringify(answers.find((a) => !a.ok)));
    const forcedCanary = answers.slice(0, 15);
    for (const a of forcedCanary) {
      assert.equal(a.model_version, '2.0.0');
      assert.deepEqual(a.parameters, { ...a.parameters, slot: 'canary', routed_by: 'forced' });
      assert.deepEqual(a.outputs.probabilities.data, expectedCanary, 'the canary model answered');
    }
    for (const a of answers.slice(15, 20)) assert.deepEqual([a.parameters.slot, a.parameters.routed_by], ['stable', 'forced']);
    for (const a of answers.slice(20)) assert.deepEqual([a.model_version, a.parameters.slot, a.parameters.routed_by], ['1.0.0', 'stable', 'split']);

    // Shadow runs start after the answer: wait for the 30 split requests' comparisons.
    let observed = await admin.observations('mlp', since);
    for (let i = 0; i < 100 && observed.shadow.length < 30; i++) {
      await new Promise((r) => setTimeout(r, 20));
      observed = await admin.observations('mlp', since);
    }
    assert.equal(observed.slots.canary.length, 0, 'forced requests are not canary traffic');
    assert.equal(observed.slots.stable.length, 30);
    assert.equal(observed.forced.canary.length, 15);
    assert.equal(observed.forced.stable.length, 5);
    assert.ok(observed.forced.canary.every((o) => o.version === '2.0.0' && !o.error));
    assert.equal(observed.shadow.length, 30, 'only split requests the stable answered are shadowed');
    assert.equal(await metric('modelship_forced_requests_total{model="mlp",slot="canary"}'), 15);
    assert.equal(await metric('modelship_forced_requests_total{model="mlp",slot="stable"}'), 5);
    assert.equal(await metric('modelship_requests_total{model="mlp",slot="canary"}'), 0);

    // The canary analysis (the activity the workflow runs) sees no canary traffic in its window.
    const deps = { serving: { url, secret } } as unknown as ActivityDeps;
    const judgement: Judgement = await new MockActivityEnvironment().run(analyzeCanary, deps, { model: 'mlp', sinceMs: since, policy: { minSamplesPerSlot: 10, minShadowComparisons: 10 } });
    assert.equal(judgement.metrics.canary.requests, 0);
    assert.equal(judgement.metrics.baseline.requests, 30);
    assert.equal(judgement.metrics.shadow.comparisons, 30);
    assert.equal(judgement.verdict, 'fail', 'the perturbed canary disagrees on the shadowed rows');
    await admin.setShadow('mlp', false);
  });

  test('the deprecated /v1 route takes the same path: it says so, and header routing applies to it', async () => {
    const since = Date.now();
    const response = await fetch(`${url}/v1/models/mlp/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-modelship-slot': 'canary' },
      body: JSON.stringify({ inputs: { features: { dims: [3, 4], data: ROWS.flat() } } }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('deprecation'), 'true');
    assert.equal(response.headers.get('link'), '</v2/models/mlp/infer>; rel="successor-version"');
    const answer = (await response.json()) as { slot: string; version: string; routedBy: string; outputs: { probabilities: { data: number[] } } };
    assert.deepEqual([answer.slot, answer.version, answer.routedBy], ['canary', '2.0.0', 'forced']);
    assert.deepEqual(answer.outputs.probabilities.data, await runDirect(perturbed, ROWS));
    const observed = await admin.observations('mlp', since);
    assert.equal(observed.forced.canary.length, 1);
    assert.equal(observed.slots.canary.length, 0);
  });

  test('a forced slot that holds nothing, and a version in the other slot, are refused', async () => {
    const post = (path: string, headers: Record<string, string>) =>
      fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ inputs: [featuresInput([ROWS[0]!])] }) });
    const noCanary = await post('/v2/models/alltypes/infer', { 'x-modelship-slot': 'canary' });
    assert.equal(noCanary.status, 404);
    assert.match(((await noCanary.json()) as { error: string }).error, /alltypes has no canary release loaded/);
    const conflict = await post('/v2/models/mlp/versions/1.0.0/infer', { 'x-modelship-slot': 'canary' });
    assert.equal(conflict.status, 400);
    assert.match(((await conflict.json()) as { error: string }).error, /version 1\.0\.0 of mlp is in the stable slot, but the request forces the canary slot/);
  });
});

describe('the canary split over OIP', () => {
  test('sticky per x-request-key: the documented bucket rule decides, the same key always lands on the same slot', async () => {
    await admin.setWeight('mlp', 50);
    const keysList = Array.from({ length: 40 }, (_, i) => `oip-user-${i}`);
    const slotOf = async (key: string) => {
      const response = await fetch(`${url}/v2/models/mlp/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-key': key },
        body: JSON.stringify({ inputs: [featuresInput([ROWS[0]!])] }),
      });
      assert.equal(response.status, 200);
      const answer = (await response.json()) as { parameters: { slot: string; routed_by: string }; model_version: string };
      assert.equal(answer.parameters.routed_by, 'split');
      assert.equal(answer.model_version, answer.parameters.slot === 'canary' ? '2.0.0' : '1.0.0');
      return answer.parameters.slot;
    };
    for (const key of keysList) {
      const slots = new Set([await slotOf(key), await slotOf(key), await slotOf(key)]);
      assert.deepEqual([...slots], [trafficBucket('mlp', key) < 50 ? 'canary' : 'stable'], key);
    }
    await admin.setWeight('mlp', 0);
  });
});
