// External data may name only files of the bundle, everywhere a model is loaded natively: export's
// load check, smoke's native reference run and the serving runtime. Real models, written by the
// venv's onnx (test/fixtures/make_external_data_models.py), on real onnxruntime-node.
//
// The hostile models point a tensor at `package.json`: a file in the working directory of whoever
// loads the model (this test runs from the repository, which has one, as a worker or server would).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CorruptModelError, ExternalDataRefusedError, NON_RETRYABLE_ERROR_TYPES } from '../src/errors/index.js';
import { bundleModelFolder, listExternalData, resolveExternalData, type ModelFolder } from '../src/onnx/external-data.js';
import { openBundle } from '../src/bundle/verify.js';
import { inspectOnnxModel } from '../src/native/inspect-model.js';
import { runNative } from '../src/smoke/native-runner.js';
import { OciBundleStore } from '../src/store/oci-bundle-store.js';
import { BlobCache } from '../src/store/blob-cache.js';
import { exportModel, type ExportInput } from '../src/activities/export-model.js';
import type { ActivityDeps } from '../src/activities/deps.js';
import { openModel, verifyForServing } from '../src/serving/control/loaded-model.js';
import { BundleRefusedError } from '../src/errors/index.js';
import type { Tensor } from '../src/tensor/tensor.js';
import type { ExportResult, ModelInfo } from '../src/release/types.js';
import ort from 'onnxruntime-node';
import { makeSignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys, PROJECT_ROOT, TempDirs, type TestKeys } from './helpers/fixtures.js';
import { pbInt, pbMsg, pbStr } from './helpers/protobuf.js';

const PYTHON = join(PROJECT_ROOT, '.venv', 'bin', 'python');
const temp = new TempDirs();
let models: string;
let keys: TestKeys;
let trustedDir: string;
const W = [0.5, 1.5, 2.5, 3.5];
const THEN = [1, 2, 3, 4];
const ELSE = [-1, -2, -3, -4];

/** The split models' signature: bundles built by hand skip export's inspection, which would refuse the hostile ones. */
const SIGNATURE: ModelInfo = {
  format: 'onnx',
  irVersion: 8,
  opsets: [{ domain: 'ai.onnx', version: 17 }],
  producer: { name: 'modelship-tests', version: '' },
  inputs: [
    { name: 'x', type: 'float32', shape: [4] },
    { name: 'c', type: 'bool', shape: [1] },
  ],
  outputs: [
    { name: 'y', type: 'float32', shape: [4] },
    { name: 'z', type: 'float32', shape: [4] },
  ],
};

/** The hostile cases: which tensor (and where in the model) is pointed at which path. */
const HOSTILE = [
  { dir: 'pkg', tensor: 'w', where: 'main graph', location: 'package.json', why: /not a file of the bundle/ },
  { dir: 'dotdot', tensor: 'w', where: 'main graph', location: '../x', why: /leaves the model folder/ },
  { dir: 'abs', tensor: 'w', where: 'main graph', location: '/etc/passwd', why: /absolute path/ },
  { dir: 'sub-pkg', tensor: 'then_w', where: 'main graph > node choose (If).then_branch', location: 'package.json', why: /not a file of the bundle/ },
] as const;

before(async () => {
  const dir = await temp.make('external-data-');
  models = join(dir, 'models');
  execFileSync(PYTHON, [join(PROJECT_ROOT, 'test', 'fixtures', 'make_external_data_models.py'), models]);
  keys = await makeKeys(join(dir, 'keys'));
  trustedDir = join(dir, 'trusted');
  await mkdir(trustedDir);
  await copyFile(keys.files.publicKeyPath, join(trustedDir, 'release.pub.pem'));
  // The premise: the working directory holds the file the hostile models name.
  await stat(join(process.cwd(), 'package.json'));
});
after(() => temp.cleanup());

const floats = (name: string, values: readonly number[]): Tensor => ({ name, type: 'float32', dims: [values.length], data: new Uint8Array(Float32Array.from(values).buffer) });
const bool = (name: string, value: boolean): Tensor => ({ name, type: 'bool', dims: [1], data: Uint8Array.of(value ? 1 : 0) });
const valuesOf = (t: Tensor) => [...new Float32Array(Uint8Array.from(t.data).buffer)];
const X = [10, 20, 30, 40];

/** The split model's folder as a bundle's model folder would be described. */
async function splitFolder(dir = join(models, 'split')): Promise<ModelFolder> {
  const files = await Promise.all(['model.onnx', 'model.onnx.data'].map(async (path) => ({ path, size: (await stat(join(dir, path))).size })));
  return { dir, modelFile: 'model.onnx', files };
}

/** Expects an ExternalDataRefusedError naming the tensor and the path (err.message and err.reference). */
function refusedFor(c: (typeof HOSTILE)[number]) {
  return (err: unknown) => {
    assert.ok(err instanceof ExternalDataRefusedError, `expected ExternalDataRefusedError, got ${String(err)}`);
    assert.equal(err.type, 'ExternalDataRefused');
    assert.equal(err.retryable, false);
    assert.ok(err.message.includes(`"${c.tensor}"`), err.message);
    assert.ok(err.message.includes(JSON.stringify(c.location)), err.message);
    assert.match(err.message, c.why);
    assert.deepEqual(err.reference, { tensor: c.tensor, where: c.where, location: c.location });
    return true;
  };
}

describe('reading and resolving external data', () => {
  test('every external tensor is listed, subgraph initializers included, as onnx wrote them', async () => {
    const refs = listExternalData(await readFile(join(models, 'split', 'model.onnx')));
    assert.deepEqual(
      refs.map((r) => [r.tensor, r.where, r.kind, r.location, r.offset, r.length]),
      [
        ['else_w', 'main graph > node choose (If).else_branch', 'initializer', 'model.onnx.data', '16', '16'],
        ['then_w', 'main graph > node choose (If).then_branch', 'initializer', 'model.onnx.data', '32', '16'],
        ['w', 'main graph', 'initializer', 'model.onnx.data', '0', '16'],
      ],
    );
  });

  test('references resolve to bundle files and byte ranges; anything else is refused by name', async () => {
    const bytes = await readFile(join(models, 'split', 'model.onnx'));
    const folder = await splitFolder();
    assert.deepEqual(
      resolveExternalData(bytes, folder).map((r) => [r.tensor, r.file, r.offset, r.length]),
      [
        ['else_w', 'model.onnx.data', 16, 16],
        ['then_w', 'model.onnx.data', 32, 16],
        ['w', 'model.onnx.data', 0, 16],
      ],
    );
    // A model file in a subfolder reads its data from that subfolder.
    const nested = resolveExternalData(bytes, { modelFile: 'onnx/model.onnx', files: [{ path: 'onnx/model.onnx', size: 1 }, { path: 'onnx/model.onnx.data', size: 48 }] });
    assert.deepEqual(nested.map((r) => r.file), ['onnx/model.onnx.data', 'onnx/model.onnx.data', 'onnx/model.onnx.data']);
    // The data file is listed but shorter than then_w's range: refused, saying the sizes.
    assert.throws(() => resolveExternalData(bytes, { modelFile: 'model.onnx', files: [{ path: 'model.onnx.data', size: 40 }] }), (err: unknown) => {
      assert.ok(err instanceof ExternalDataRefusedError);
      assert.match(err.message, /"then_w".*40 bytes, too short for offset 32 \+ length 16/);
      return true;
    });
    // The same model without its data file in the list: refused, naming the first tensor (subgraphs come first in the file).
    assert.throws(() => resolveExternalData(bytes, { modelFile: 'model.onnx', files: [{ path: 'model.onnx', size: bytes.length }] }), /"else_w" \(main graph > node choose \(If\)\.else_branch\) keeps its data in "model.onnx.data", which is not a file of the bundle \(its model folder holds model\.onnx\)/);
    for (const c of HOSTILE) assert.throws(() => resolveExternalData(readFileSyncOf(c.dir), folder), refusedFor(c));
    assert.throws(() => resolveExternalData(Uint8Array.of(0x3a, 0x05, 0x2a), folder), CorruptModelError);
  });

  test("tensors in a Constant's attribute, a sparse initializer and a function are listed too", () => {
    const ext = (name: string, location: string) => [...pbInt(1, 4), ...pbInt(2, 1), ...pbStr(8, name), ...pbMsg(13, pbStr(1, 'location'), pbStr(2, location)), ...pbInt(14, 1)];
    const constant = pbMsg(1, pbStr(2, 'k'), pbStr(3, 'const'), pbStr(4, 'Constant'), pbMsg(5, pbStr(1, 'value'), pbInt(20, 4), pbMsg(5, ext('k_value', 'a.bin'))));
    const sparse = pbMsg(15, pbMsg(1, ext('s_values', 'b.bin')), pbMsg(2, ext('s_indices', 'c.bin')), pbInt(3, 4));
    const fnConstant = pbMsg(7, pbStr(2, 'f_out'), pbStr(3, 'fconst'), pbStr(4, 'Constant'), pbMsg(5, pbStr(1, 'value'), pbInt(20, 4), pbMsg(5, ext('f_value', 'd.bin'))));
    const model = Uint8Array.from([...pbInt(1, 8), ...pbMsg(7, constant, pbStr(2, 'g'), sparse), ...pbMsg(8, pbInt(2, 17)), ...pbMsg(25, pbStr(1, 'helper'), fnConstant)]);
    assert.deepEqual(
      listExternalData(model).map((r) => [r.tensor, r.where, r.kind, r.location]),
      [
        ['k_value', 'main graph > node const (Constant).value', 'attribute', 'a.bin'],
        ['s_values', 'main graph', 'sparse_initializer', 'b.bin'],
        ['s_indices', 'main graph', 'sparse_initializer', 'c.bin'],
        ['f_value', 'function helper > node fconst (Constant).value', 'attribute', 'd.bin'],
      ],
    );
  });

  test('a verified bundle keeps its external data as the bytes it hashed, keyed by the location as written', async () => {
    const data = await readFile(join(models, 'split', 'model.onnx.data'));
    const bundle = await makeSignedBundle(await temp.make('open-split-'), keys.signingKey, { name: 'split', modelPath: join(models, 'split', 'model.onnx'), extraFiles: { 'model.onnx.data': data } });
    const onDisk = join(bundle.bundleDir, 'model', 'model.onnx.data');
    // Swapped once hashed: what openBundle hands back must still be what it checked.
    const { report, verified } = await openBundle(bundle.bundleDir, keys.signingKey.publicKey, {
      keepExternalData: true,
      afterFilesHashed: () => writeFile(onDisk, Buffer.alloc(data.length, 0x7f)),
    });
    assert.equal(report.ok, true, JSON.stringify(report.checks));
    const external = verified!.externalData!;
    assert.ok('files' in external, String('refused' in external && external.refused));
    assert.deepEqual(external.files.map((f) => f.path), ['model.onnx.data']);
    assert.deepEqual(Buffer.from(external.files[0]!.data), data);
    // Callers that do not load the model (the CLI's verify) keep nothing.
    assert.equal((await openBundle(bundle.bundleDir, keys.signingKey.publicKey)).verified, undefined, 'the swapped file no longer verifies');
    await writeFile(onDisk, data);
    assert.equal((await openBundle(bundle.bundleDir, keys.signingKey.publicKey)).verified?.externalData, undefined);
  });

  test('a verified bundle whose reference leaves it keeps nothing and says why', async () => {
    const bundle = await makeSignedBundle(await temp.make('open-pkg-'), keys.signingKey, {
      name: 'pkg',
      modelPath: join(models, 'pkg', 'model.onnx'),
      extraFiles: { 'model.onnx.data': await readFile(join(models, 'pkg', 'model.onnx.data')) },
      modelInfo: SIGNATURE,
    });
    const external = (await openBundle(bundle.bundleDir, keys.signingKey.publicKey, { keepExternalData: true })).verified?.externalData;
    assert.ok(external && 'refused' in external, JSON.stringify(external));
    refusedFor(HOSTILE[0])(external.refused);
  });

  test('hand-written references: odd spellings, onnxruntime’s memory tag, bad numbers', () => {
    const folder = { modelFile: 'model.onnx', files: [{ path: 'model.onnx', size: 100 }, { path: 'w.bin', size: 64 }] };
    const ok = (location: string, offset?: string, length?: string) => resolveExternalData(externalModel(location, offset, length), folder)[0]!;
    assert.deepEqual(ok('./w.bin', '8', '16'), { tensor: 'w', where: 'main graph', location: './w.bin', file: 'w.bin', offset: 8, length: 16 });
    assert.equal(ok('w.bin', '48').length, 16, 'no length: to the end of the file');
    for (const [location, why] of [
      ['*/_ORT_MEM_ADDR_/*', /in-memory address tag/],
      ['C:\\w.bin', /absolute path/],
      ['sub\\..\\w.bin', /backslash/],
      ['a/../w.bin', /leaves the model folder/],
      ['w.bin/', /not a canonical path/],
      ['', /is missing/],
    ] as const) {
      assert.throws(() => resolveExternalData(externalModel(location), folder), (err: unknown) => err instanceof ExternalDataRefusedError && why.test(err.message), location);
    }
    assert.throws(() => resolveExternalData(externalModel('w.bin', '-8'), folder), /offset "-8", not a byte count/);
    assert.throws(() => resolveExternalData(externalModel('w.bin', '0', '0x10'), folder), /length "0x10", not a byte count/);
    assert.throws(() => resolveExternalData(externalModel('w.bin', '60', '8'), folder), /64 bytes, too short for offset 60 \+ length 8/);
  });

  test('ExternalDataRefused is never retried', () => {
    assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(new ExternalDataRefusedError('x', { tensor: 'w', where: 'main graph' }).type));
    assert.equal(ExternalDataRefusedError.code, 'ExternalDataRefused');
  });
});

describe("export's load check", () => {
  // Export publishes to the worker's store: here an OCI layout folder, as on one machine.
  const deps = (root: string) =>
    ({
      bundlesRoot: root,
      exporters: {},
      passphrase: async () => '',
      store: { location: `oci-layout:${join(root, 'oci')}`, bundles: new OciBundleStore({ cache: new BlobCache(join(root, 'blobs')) }), workRoot: join(root, 'work') },
    }) as unknown as ActivityDeps;
  const exportFolder = async (source: string, name: string): Promise<ExportResult> => {
    const root = await temp.make('export-');
    const input: ExportInput = {
      releaseId: `release-${name}`,
      request: { name, version: '1.0.0', source: { kind: 'onnx', path: source }, signingKeyPath: '/unused', requestedBy: 'tests' },
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    return new MockActivityEnvironment().run(exportModel, deps(root), input);
  };

  for (const c of HOSTILE) {
    test(`a model whose ${c.tensor} reads ${c.location} is refused before onnxruntime loads it`, async () => {
      await assert.rejects(exportFolder(join(models, c.dir), `hostile-${c.dir}`), refusedFor(c));
    });
  }

  test('a model split into model.onnx + model.onnx.data exports, both files in the bundle', async () => {
    const result = await exportFolder(join(models, 'split'), 'split');
    assert.deepEqual(result.files.map((f) => f.path), ['model.onnx', 'model.onnx.data']);
    assert.deepEqual(result.model.inputs.map((i) => i.name), ['x', 'c']);
    assert.deepEqual(result.model.outputs.map((o) => o.name), ['y', 'z']);
  });

  test('inspecting a model file on its own refuses its external data (no folder list, nothing to read)', async () => {
    await assert.rejects(inspectOnnxModel(join(models, 'split', 'model.onnx')), (err: unknown) => err instanceof ExternalDataRefusedError && /"else_w".*"model.onnx.data", which is not a file of the bundle/.test(err.message));
  });
});

describe("smoke's native reference run", () => {
  for (const c of HOSTILE) {
    test(`a model whose ${c.tensor} reads ${c.location} is refused`, async () => {
      // The hostile model ships the legitimate data file too: only the one reference is wrong.
      const folder = await splitFolder(join(models, c.dir));
      await assert.rejects(runNative(readFileSyncOf(c.dir), [floats('x', X), bool('c', true)], { timeoutMs: 30_000 }, undefined, folder), refusedFor(c));
    });
  }

  test('the split model runs from its folder, subgraph weights included', async () => {
    const bytes = await readFile(join(models, 'split', 'model.onnx'));
    const folder = await splitFolder();
    for (const [cond, z] of [[true, THEN], [false, ELSE]] as const) {
      const [y, zOut] = await runNative(bytes, [floats('x', X), bool('c', cond)], { timeoutMs: 30_000 }, undefined, folder);
      assert.deepEqual(valuesOf(y!), X.map((v, i) => v + W[i]!));
      assert.deepEqual(valuesOf(zOut!), z);
    }
    // Without the bundle's folder there is nothing it may read: refused, not run.
    await assert.rejects(runNative(bytes, [floats('x', X), bool('c', true)], { timeoutMs: 30_000 }), /"else_w".*"model.onnx.data", which is not a file of the bundle/);
  });

  test('the split model runs from the bytes verification read; a location not among them is refused', async () => {
    const bytes = await readFile(join(models, 'split', 'model.onnx'));
    const externalData = [{ path: 'model.onnx.data', data: await readFile(join(models, 'split', 'model.onnx.data')) }];
    const [y, z] = await runNative(bytes, [floats('x', X), bool('c', false)], { timeoutMs: 30_000 }, undefined, { externalData });
    assert.deepEqual(valuesOf(y!), X.map((v, i) => v + W[i]!));
    assert.deepEqual(valuesOf(z!), ELSE);
    // The hostile model's package.json is not among the bytes: refused before onnxruntime runs.
    await assert.rejects(runNative(readFileSyncOf('pkg'), [floats('x', X), bool('c', true)], { timeoutMs: 30_000 }, undefined, { externalData }), refusedFor(HOSTILE[0]));
  });

  test("a bundle file named package.json is the bundle's, never the worker's", async () => {
    // The bundle ships its own package.json holding w's 16 bytes: onnxruntime must read that one.
    const dir = await temp.make('own-package-json-');
    const data = await readFile(join(models, 'split', 'model.onnx.data'));
    await copyFile(join(models, 'pkg', 'model.onnx'), join(dir, 'model.onnx'));
    await writeFile(join(dir, 'package.json'), data.subarray(0, 16));
    await writeFile(join(dir, 'model.onnx.data'), data);
    const folder: ModelFolder = { dir, modelFile: 'model.onnx', files: [{ path: 'model.onnx', size: 1 }, { path: 'model.onnx.data', size: data.length }, { path: 'package.json', size: 16 }] };
    const [y] = await runNative(await readFile(join(dir, 'model.onnx')), [floats('x', X), bool('c', true)], { timeoutMs: 30_000 }, undefined, folder);
    assert.deepEqual(valuesOf(y!), X.map((v, i) => v + W[i]!));
  });
});

describe("the serving runtime's model load", () => {

  for (const c of HOSTILE) {
    test(`a signed bundle whose ${c.tensor} reads ${c.location} is refused before a session is created`, async () => {
      // Signed by a trusted key but built by hand (export would have refused it): the runtime must refuse it itself.
      const bundle = await makeSignedBundle(await temp.make('serve-hostile-'), keys.signingKey, {
        name: `hostile-${c.dir}`,
        modelPath: join(models, c.dir, 'model.onnx'),
        extraFiles: { 'model.onnx.data': await readFile(join(models, c.dir, 'model.onnx.data')) },
        modelInfo: SIGNATURE,
      });
      await assert.rejects(verifyForServing(bundle.bundleDir, trustedDir), (err: unknown) => {
        assert.ok(err instanceof BundleRefusedError, String(err));
        assert.deepEqual(err.failedChecks.map((f) => f.check), ['files']);
        assert.match(err.failedChecks[0]!.detail, /^ExternalDataRefused: /);
        assert.ok(err.message.includes(`"${c.tensor}"`) && err.message.includes(JSON.stringify(c.location)), err.message);
        return true;
      });
    });
  }

  test('a signed split bundle loads from the bytes verification read, and serves', async () => {
    const data = await readFile(join(models, 'split', 'model.onnx.data'));
    const bundle = await makeSignedBundle(await temp.make('serve-split-'), keys.signingKey, { name: 'split', modelPath: join(models, 'split', 'model.onnx'), extraFiles: { 'model.onnx.data': data } });
    assert.deepEqual(bundle.manifest.signature.inputs.map((i) => i.name), ['x', 'c']);
    const verified = await verifyForServing(bundle.bundleDir, trustedDir);
    assert.deepEqual(verified.externalData.map((f) => f.path), ['model.onnx.data']);
    assert.deepEqual(Buffer.from(verified.externalData[0]!.data), data);
    assert.deepEqual(bundleModelFolder(bundle.bundleDir, verified.manifest).files.map((f) => f.path), ['model.onnx', 'model.onnx.data']);
    // Swapped after verification: the session is made from the verified bytes, not the file.
    const onDisk = join(bundle.bundleDir, 'model', 'model.onnx.data');
    await writeFile(onDisk, Buffer.alloc(data.length, 0x7f));
    const loaded = await openModel(verified);
    try {
      const out = await loaded.session.run({ x: new ort.Tensor('float32', Float32Array.from(X), [4]), c: new ort.Tensor('bool', Uint8Array.of(1), [1]) });
      assert.deepEqual([...(out.y!.data as Float32Array)], X.map((v, i) => v + W[i]!));
      assert.deepEqual([...(out.z!.data as Float32Array)], THEN);
    } finally {
      await loaded.retire();
    }
  });
});

/** A minimal model: y = Identity(w), w a float tensor of 4 elements with the given external_data entries. */
function externalModel(location: string, offset?: string, length?: string): Uint8Array {
  const entry = (key: string, value: string) => pbMsg(13, pbStr(1, key), pbStr(2, value));
  const w = pbMsg(5, pbInt(1, 4), pbInt(2, 1), pbStr(8, 'w'), entry('location', location), ...(offset !== undefined ? [entry('offset', offset)] : []), ...(length !== undefined ? [entry('length', length)] : []), pbInt(14, 1));
  const node = pbMsg(1, pbStr(1, 'w'), pbStr(2, 'y'), pbStr(3, 'id'), pbStr(4, 'Identity'));
  const graph = pbMsg(7, node, pbStr(2, 'g'), w);
  return Uint8Array.from([...pbInt(1, 8), ...graph, ...pbMsg(8, pbInt(2, 17))]);
}

function readFileSyncOf(dir: string): Uint8Array {
  return readFileSync(join(models, dir, 'model.onnx'));
}
