// Records ReleaseWorkflow histories for the replay test: `npm run record-histories`.
// Re-record only on purpose: the committed histories stand for workflows already running in
// production, and a change that cannot replay them must go behind patched(). Histories of
// earlier workflow versions stay (e.g. v0.1-before-smoke-*): they prove the patches hold.
import { writeFile, readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { generateKeyFiles } from '../src/crypto/keys.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { startReleaseEnv } from './helpers/release-env.js';

const OUT = join(PROJECT_ROOT, 'test', 'histories');
const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const CNN = join(PROJECT_ROOT, 'models', 'cnn', 'small-cnn.onnx');

const env = await startReleaseEnv();
try {
  await mkdir(OUT, { recursive: true });
  const corrupt = join(env.dir, 'corrupt.onnx');
  await writeFile(corrupt, (await readFile(SAMPLE)).subarray(0, 800));
  const otherKey = await generateKeyFiles(join(env.dir, 'other'), 'other', 'not the worker passphrase');
  const cases = {
    'release-succeeded': env.request({ version: '1.0.0', source: { kind: 'onnx', path: SAMPLE } }),
    'release-failed-corrupt-model': env.request({ version: '1.0.1', source: { kind: 'onnx', path: corrupt } }),
    'release-failed-wrong-passphrase': env.request({ version: '1.0.2', source: { kind: 'onnx', path: SAMPLE }, signingKeyPath: otherKey.privateKeyPath }),
    'release-failed-smoke-tolerance': env.request({ version: '1.0.3', source: { kind: 'onnx', path: CNN }, smoke: { tolerance: { absolute: 0, relative: 0 } } }),
  };
  for (const [name, request] of Object.entries(cases)) {
    const handle = await env.start(request);
    await handle.result().catch(() => undefined);
    await writeFile(join(OUT, `${name}.json`), JSON.stringify(JSON.parse(historyToJSON(await handle.fetchHistory())), null, 1) + '\n');
    process.stdout.write(`recorded ${name}\n`);
  }
} finally {
  await env.stop();
}
