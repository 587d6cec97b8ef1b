// Smoke inputs a user can give: shapes by input and by symbolic dimension, defaults for conv
// nets, integer ranges, every element type, and inputs files as JSON, numpy .npy/.npz and ONNX
// TensorProto .pb, written here by numpy and onnx themselves (the project's .venv).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';
import { readDeclaredInputs } from '../src/onnx/declared-shapes.js';
import { generateInputs } from '../src/smoke/test-inputs.js';
import { readInputsFile } from '../src/smoke/inputs-file.js';
import { smokeInputs } from '../src/smoke/smoke-inputs.js';
import { IMAGE_SIDE, resolveInputShapes } from '../src/smoke/input-shapes.js';
import { parseDimFlag, parseIntRangeFlag, parseShapeFlag, parseToleranceFlag, smokeSpecProblems, SpecSyntaxError } from '../src/smoke/input-spec.js';
import { halfToNumber, numberToHalf } from '../src/tensor/half-float.js';
import { elementValues, type Tensor } from '../src/tensor/tensor.js';
import { SmokeInputError } from '../src/errors/index.js';
import type { TensorSignature } from '../src/release/types.js';

const PYTHON = join(PROJECT_ROOT, '.venv', 'bin', 'python');

function python(script: string, cwd: string): void {
  execFileSync(PYTHON, ['-c', script], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const sig = (name: string, type: string, shape: (number | string)[]): TensorSignature => ({ name, type, shape });

describe('smoke input shapes', () => {
  it('fixed sizes stay, image-like inputs get 224 sides and batch 1, other symbolic dims 2', () => {
    const shapes = resolveInputShapes(
      [sig('images', 'float32', ['batch', 3, 'height', 'width']), sig('nhwc', 'float32', ['n', 'h', 'w', 3]), sig('tokens', 'int64', ['b', 'seq'])],
      undefined,
    );
    assert.deepEqual(shapes, [
      [1, 3, IMAGE_SIDE, IMAGE_SIDE],
      [1, IMAGE_SIDE, IMAGE_SIDE, 3],
      [2, 2],
    ]);
  });

  it('a named dimension has one size across inputs, and the user sets it by name or a whole shape by input', () => {
    const signature = [sig('input', 'float32', ['batch', 'sequence']), sig('state', 'float32', [2, 'batch', 128]), sig('sr', 'int64', [])];
    assert.deepEqual(resolveInputShapes(signature, undefined, { dims: { batch: 1, sequence: 512 } }), [[1, 512], [2, 1, 128], []]);
    assert.deepEqual(resolveInputShapes(signature, undefined, { shapes: { input: [3, 576] }, dims: { batch: 3 } }), [[3, 576], [2, 3, 128], []]);
  });

  it('refuses a shape that contradicts the model, naming the input, the dimension and both sizes', () => {
    const signature = [sig('x', 'float32', ['n', 3, 'h', 'w'])];
    assert.throws(() => resolveInputShapes(signature, undefined, { shapes: { x: [1, 4, 32, 32] } }), /input x: dimension 1 is fixed at 3 by the model \(\["n", 3, "h", "w"\]\), the given shape \[1, 4, 32, 32\] has 4/);
    assert.throws(() => resolveInputShapes(signature, undefined, { shapes: { x: [1, 3, 32] } }), /input x: the given shape \[1, 3, 32\] has rank 3, the model declares rank 4/);
    assert.throws(() => resolveInputShapes(signature, undefined, { shapes: { y: [1] } }), /smoke shapes name "y", which is not an input of the model \(inputs: x\)/);
    assert.throws(() => resolveInputShapes(signature, undefined, { dims: { height: 2 } }), /smoke dims name "height", which is not a symbolic dimension of the model's inputs \("n", "h", "w"\)/);
  });

  describe('from the model file', () => {
    let dir: string;
    let model: Buffer;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'modelship-shapes-'));
      // Inputs: one of unknown rank, one with an anonymous length, one scalar; Identity to outputs.
      python(
        `import onnx
from onnx import helper, TensorProto as T
nodes=[helper.make_node('Identity',[n],[n+'_out']) for n in ('any','audio','sr')]
g=helper.make_graph(nodes,'g',[helper.make_tensor_value_info('any',T.FLOAT,None),helper.make_tensor_value_info('audio',T.FLOAT,[None,None]),helper.make_tensor_value_info('sr',T.INT64,[])],
 [helper.make_tensor_value_info(n+'_out',T.FLOAT if n!='sr' else T.INT64,None) for n in ('any','audio','sr')])
onnx.save(helper.make_model(g,opset_imports=[helper.make_opsetid('',17)]),'m.onnx')`,
        dir,
      );
      model = await readFile(join(dir, 'm.onnx'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('tells an unknown rank from a scalar and names anonymous dimensions', () => {
      assert.deepEqual(readDeclaredInputs(model), [
        { name: 'any', dims: undefined },
        { name: 'audio', dims: [null, null] },
        { name: 'sr', dims: [] },
      ]);
    });

    it('a shape that cannot be chosen names the input and the dimension and says how to set it', async () => {
      const signature = [sig('any', 'float32', []), sig('audio', 'float32', ['', '']), sig('sr', 'int64', [])];
      await assert.rejects(smokeInputs(model, signature, {}), (err: Error) => {
        assert.ok(err instanceof SmokeInputError);
        assert.match(err.message, /input any: the model declares no shape for it, so not even its rank is known; give its shape with --smoke-shape any=1x3x224x224 \(release request: smoke\.shapes\["any"\]\)/);
        assert.match(err.message, /input audio: dimension 1 of \[\?, \?\] has neither a size nor a name in the model, so no size can be chosen for it; give the shape with --smoke-shape audio=2xN \(release request: smoke\.shapes\["audio"\]\)/);
        return true;
      });
      const inputs = await smokeInputs(model, signature, { shapes: { any: [2, 2], audio: [1, 512] }, intRanges: { sr: { min: 16000, max: 16000 } } });
      assert.deepEqual(inputs.map((t) => t.dims), [[2, 2], [1, 512], []]);
      assert.deepEqual(Array.from(elementValues(inputs[2]!)), [16000n]);
    });
  });
});

describe('generated smoke inputs', () => {
  const types = ['float16', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool'];

  it('every element type, seeded and reproducible; integers in 0..3 by default, bools 0/1', () => {
    const signature = types.map((t) => sig(t, t, [4, 8]));
    const a = generateInputs(signature, 3);
    const b = generateInputs(signature, 3);
    assert.deepEqual(a, b);
    assert.notDeepEqual(generateInputs(signature, 4)[1]!.data, a[1]!.data);
    for (const t of a) {
      assert.equal(t.type, t.name);
      const values = Array.from(elementValues(t), Number);
      assert.equal(values.length, 32);
      if (t.type.startsWith('float')) assert.ok(values.every((v) => v >= -1 && v < 1.001), t.type);
      else if (t.type === 'bool') assert.ok(values.every((v) => v === 0 || v === 1));
      else assert.ok(values.every((v) => Number.isInteger(v) && v >= 0 && v <= 3), t.type);
    }
  });

  it('integer ranges for all inputs and per input, refused when the type cannot hold them', () => {
    const signature = [sig('bytes', 'int32', [1, 2048]), sig('ids', 'int64', [1, 16]), sig('small', 'int8', [4])];
    const [bytes, ids] = generateInputs(signature, 1, { spec: { intRange: { min: 0, max: 100 }, intRanges: { bytes: { min: 0, max: 255 } } } });
    const bv = Array.from(elementValues(bytes!), Number);
    assert.ok(bv.every((v) => v >= 0 && v <= 255) && bv.some((v) => v > 100), 'bytes span 0..255');
    assert.ok(Array.from(elementValues(ids!), Number).every((v) => v >= 0 && v <= 100));
    assert.throws(() => generateInputs(signature, 1, { spec: { intRange: { min: 0, max: 255 } } }), /input small of type int8: smoke intRange 0:255 is outside the type's -128\.\.127; set one that fits with --smoke-int-range small=MIN:MAX/);
    assert.throws(() => generateInputs(signature, 1, { spec: { intRanges: { nope: { min: 0, max: 1 } } } }), /smoke intRanges name "nope", which is not an input/);
  });

  it('float16 round-trips through the half encoder as numpy rounds it', () => {
    for (const [v, bits] of [[1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [1e-8, 0], [0.1, 0x2e66], [70000, 0x7c00], [5.96e-8, 1]] as const) {
      assert.equal(numberToHalf(v), bits, String(v));
    }
    assert.equal(halfToNumber(numberToHalf(0.333251953125)), 0.333251953125);
  });
});

describe('smoke request fields and CLI spellings', () => {
  it('parses the flags and says how to write them when they are wrong', () => {
    assert.deepEqual(parseShapeFlag('x=1x3x224x224'), ['x', [1, 3, 224, 224]]);
    assert.deepEqual(parseShapeFlag('onnx::in=2,4'), ['onnx::in', [2, 4]]);
    assert.deepEqual(parseShapeFlag('sr='), ['sr', []]);
    assert.deepEqual(parseDimFlag('batch=1'), ['batch', 1]);
    assert.deepEqual(parseIntRangeFlag('0:255'), { range: { min: 0, max: 255 } });
    assert.deepEqual(parseIntRangeFlag('input_ids=0:30521'), { input: 'input_ids', range: { min: 0, max: 30521 } });
    assert.deepEqual(parseToleranceFlag('1e-4'), { tolerance: { absolute: 1e-4 } });
    assert.deepEqual(parseToleranceFlag('boxes=1e-3:1e-4'), { output: 'boxes', tolerance: { absolute: 1e-3, relative: 1e-4 } });
    assert.throws(() => parseShapeFlag('x=1x3xh'), SpecSyntaxError);
    assert.throws(() => parseDimFlag('batch'), /--smoke-dim batch: expected NAME=SIZE/);
    assert.throws(() => parseIntRangeFlag('5:1'), /min 5 is above max 1/);
    assert.throws(() => parseToleranceFlag('x=-1'), /--smoke-tolerance x=-1: expected ATOL, ATOL:RTOL or OUTPUT=ATOL\[:RTOL\]/);
  });

  it('validates the request fields, naming each', () => {
    assert.deepEqual(smokeSpecProblems({ shapes: { x: [1, 3] }, dims: { batch: 1 }, intRange: { min: 0, max: 255 }, outputTolerances: { boxes: { absolute: 1e-3 } } }), []);
    assert.deepEqual(
      smokeSpecProblems({ shapes: { x: [1, -3] }, dims: { batch: 'one' }, intRanges: { ids: { min: 3, max: 1 } }, outputTolerances: { boxes: { atol: 1 } } }).map((p) => p.field),
      ['shapes.x', 'dims.batch', 'intRanges.ids', 'outputTolerances.boxes'],
    );
  });
});

describe('smoke inputs files', () => {
  let dir: string;
  const signature = [sig('x', 'float32', ['batch', 3, 2, 2]), sig('ids', 'int32', ['batch', 5]), sig('flag', 'bool', []), sig('h', 'float16', [2])];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-inputs-'));
    await mkdir(join(dir, 'set'));
    await mkdir(join(dir, 'pbset'));
    python(
      `import numpy as np, onnx
from onnx import numpy_helper
x=(np.arange(12,dtype=np.float32).reshape(1,3,2,2)/7).astype(np.float32)
ids=np.array([[0,1,255,7,9]],dtype=np.int32)
flag=np.array(True)
h=np.array([0.5,-1.25],dtype=np.float16)
np.save('x.npy',x)
np.save('x_fortran.npy',np.asfortranarray(x))
np.save('x_big.npy',x.astype('>f4'))
np.savez('all.npz',x=x,ids=ids,flag=flag,h=h)
np.savez_compressed('all_compressed.npz',x=x,ids=ids,flag=flag,h=h)
np.savez('wrong_type.npz',x=x,ids=ids.astype(np.int64),flag=flag,h=h)
np.savez('wrong_shape.npz',x=x.reshape(1,3,4,1),ids=ids,flag=flag,h=h)
np.savez('extra.npz',x=x,ids=ids,flag=flag,h=h,y=x)
for n,a in (('x',x),('ids',ids),('flag',flag),('h',h)): np.save('set/%s.npy'%n,a)
for i,(n,a) in enumerate((('x',x),('ids',ids),('flag',flag),('h',h))):
  open('pbset/input_%d.pb'%i,'wb').write(numpy_helper.from_array(a).SerializeToString())
open('x.pb','wb').write(numpy_helper.from_array(x,'x').SerializeToString())
np.save('obj.npy',np.array(['a','b']))`,
      dir,
    );
    await writeFile(
      join(dir, 'inputs.json'),
      JSON.stringify({ x: { dims: [1, 3, 2, 2], data: Array.from({ length: 12 }, (_, i) => i / 7) }, ids: { dims: [1, 5], data: [0, 1, 255, 7, 9] }, flag: { dims: [], data: [true] }, h: { dims: [2], data: [0.5, -1.25] } }),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const values = (t: Tensor) => Array.from(elementValues(t), Number);
  const expectAll = (tensors: Tensor[]) => {
    assert.deepEqual(tensors.map((t) => [t.name, t.type, t.dims]), [
      ['x', 'float32', [1, 3, 2, 2]],
      ['ids', 'int32', [1, 5]],
      ['flag', 'bool', []],
      ['h', 'float16', [2]],
    ]);
    assert.deepEqual(values(tensors[0]!), Array.from(new Float32Array(Array.from({ length: 12 }, (_, i) => i / 7))));
    assert.deepEqual(values(tensors[1]!), [0, 1, 255, 7, 9]);
    assert.deepEqual(values(tensors[2]!), [1]);
    assert.deepEqual(values(tensors[3]!), [0.5, -1.25]);
  };

  it('reads JSON, .npz (stored and deflated), a folder of .npy and an ONNX test-data folder of .pb alike', async () => {
    for (const path of ['inputs.json', 'all.npz', 'all_compressed.npz', 'set', 'pbset']) expectAll(await readInputsFile(join(dir, path), signature));
  });

  it('reads one .npy or .pb for a one-input model, Fortran-order and big-endian arrays converted', async () => {
    const one = [sig('x', 'float32', [1, 3, 2, 2])];
    const reference = values((await readInputsFile(join(dir, 'x.npy'), one))[0]!);
    for (const file of ['x_fortran.npy', 'x_big.npy', 'x.pb']) assert.deepEqual(values((await readInputsFile(join(dir, file), one))[0]!), reference, file);
  });

  it('a wrong type, shape, missing or extra tensor names the input, what the model expects and what the file gives', async () => {
    await assert.rejects(readInputsFile(join(dir, 'wrong_type.npz'), signature), /smoke inputs wrong_type\.npz\[ids\]: input ids must be int32 \["batch", 5\], the file gives int64 \[1, 5\]/);
    await assert.rejects(readInputsFile(join(dir, 'wrong_shape.npz'), signature), /smoke inputs wrong_shape\.npz\[x\]: input x must have shape \["batch", 3, 2, 2\], the file gives \[1, 3, 4, 1\]/);
    await assert.rejects(readInputsFile(join(dir, 'extra.npz'), signature), /extra\.npz\[y\] \(named y\) match no input of the model \(inputs: x, ids, flag, h\)/);
    await assert.rejects(readInputsFile(join(dir, 'x.npy'), signature), /x\.npy give no tensor for model input ids/);
    await assert.rejects(readInputsFile(join(dir, 'obj.npy'), [sig('obj', 'float32', [2])]), /numpy dtype "<U1" has no ONNX element type here/);
    await assert.rejects(readInputsFile(join(dir, 'nope.npz'), signature), /cannot read smoke inputs .*nope\.npz: no such file or folder/);
    const json = join(dir, 'bad.json');
    await writeFile(json, JSON.stringify({ ids: { dims: [1, 2], data: [1, 2.5] } }));
    await assert.rejects(readInputsFile(json, [sig('ids', 'int32', [1, 2])]), /smoke inputs bad\.json\[ids\]: value 1: 2\.5 is not a whole number/);
    await writeFile(json, JSON.stringify({ ids: { dims: [1, 2], data: [1, 3e9] } }));
    await assert.rejects(readInputsFile(json, [sig('ids', 'int32', [1, 2])]), /value 1: 3000000000 is out of range for int32/);
  });
});
