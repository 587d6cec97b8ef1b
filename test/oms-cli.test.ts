// `modelship sign --format oms` and `modelship verify --format oms` as processes, checked
// against the OpenSSF model_signing CLI (from PyPI, installed into .venv by setup).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';

const BIN = join(PROJECT_ROOT, 'bin', 'modelship.js');
const MODEL_SIGNING = join(PROJECT_ROOT, '.venv', 'bin', 'model_signing');

function modelship(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
}

describe('modelship sign/verify --format oms (processes)', () => {
  let dir: string;
  let model: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-oms-cli-'));
    model = join(dir, 'sample-model');
    await mkdir(join(model, 'tokenizer'), { recursive: true });
    await copyFile(join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx'), join(model, 'model.onnx'));
    await writeFile(join(model, 'tokenizer', 'vocab.json'), '{"a":1}');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'ec.pem')]);
    execFileSync('openssl', ['ec', '-in', join(dir, 'ec.pem'), '-pubout', '-out', join(dir, 'ec.pub.pem')], { stdio: 'ignore' });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('our bundle passes model_signing verify key and our own verify; a changed byte fails both', async () => {
    const signed = modelship(['sign', model, '--format', 'oms', '--key', join(dir, 'ec.pem'), '--out', join(dir, 'model.sig')]);
    assert.equal(signed.status, 0, signed.stderr);
    const theirs = spawnSync(MODEL_SIGNING, ['verify', 'key', model, '--signature', join(dir, 'model.sig'), '--public_key', join(dir, 'ec.pub.pem')], { encoding: 'utf8' });
    assert.equal(theirs.status, 0, `${theirs.stdout}${theirs.stderr}`);
    const ours = modelship(['verify', model, '--format', 'oms', '--signature', join(dir, 'model.sig'), '--key', join(dir, 'ec.pub.pem')]);
    assert.equal(ours.status, 0, ours.stdout + ours.stderr);

    const vocab = join(model, 'tokenizer', 'vocab.json');
    const original = await readFile(vocab);
    await writeFile(vocab, '{"a":2}');
    const bad = modelship(['verify', model, '--format', 'oms', '--signature', join(dir, 'model.sig'), '--key', join(dir, 'ec.pub.pem')]);
    const theirsBad = spawnSync(MODEL_SIGNING, ['verify', 'key', model, '--signature', join(dir, 'model.sig'), '--public_key', join(dir, 'ec.pub.pem')], { encoding: 'utf8' });
    await writeFile(vocab, original);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout + bad.stderr, /tokenizer\/vocab\.json/);
    assert.notEqual(theirsBad.status, 0);
  });
});
