/**
 * ONNX backend conformance of the sandboxed engine (onnxruntime-web) against onnxruntime-node on
 * the same data, per operator:
 *
 *   node dist/scripts/conformance.js [--data DIR] [--json] [--only OP] [--native] [--verbose]
 *
 * --data DIR   directory of test_* dirs (default /usr/share/libonnx-testdata/data/node;
 *              apt-get install libonnx-testdata)
 * --json       print the results as JSON instead of tables
 * --only OP    only the tests whose graph uses OP
 * --native     run onnxruntime-node instead of the sandbox (checks this harness)
 * --verbose    one line per test directory as it finishes
 *
 * Exits 1 if the sandbox fails a test onnxruntime-node passes (or, with --native, if any test
 * failed), else 0.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR, formatReport, formatTestLine, runConformance } from './lib/conformance.js';
import { errorMessage } from '../src/errors/index.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: DEFAULT_DATA_DIR },
      json: { type: 'boolean', default: false },
      only: { type: 'string' },
      native: { type: 'boolean', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write('usage: node dist/scripts/conformance.js [--data DIR] [--json] [--only OP] [--native] [--verbose]\n');
    return 0;
  }
  const verbose = values.verbose;
  const results = await runConformance({
    dataDir: values.data,
    engine: values.native ? 'native' : 'sandbox',
    ...(values.only !== undefined ? { only: values.only } : {}),
    onTest: verbose ? (r) => (values.json ? process.stderr : process.stdout).write(formatTestLine(r) + '\n') : undefined,
  });
  if (values.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  else process.stdout.write(formatReport(results));
  const bad = results.engine === 'sandbox' ? results.regressions.length : results.totals.failed;
  return bad > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`conformance: ${errorMessage(err)}\n`);
    process.exitCode = 2;
  },
);
