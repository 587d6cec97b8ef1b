// The plugin sandbox (src/sandbox/) against real WebAssembly: a well-behaved echo plugin, and
// hostile plugins (plugins/hostile/, built by scripts/build-plugins.sh into dist/plugins/) that
// loop forever, exhaust linear or host memory, import WASI or HTTP, report errors and abort.
// No stubs: every call runs in a real worker thread through @extism/extism.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import {
  ERROR_CLASSES,
  PluginReportedError,
  SandboxError,
  SandboxForbiddenImportError,
  SandboxInvalidModuleError,
  SandboxMemoryError,
  SandboxTimeoutError,
  SandboxTrapError,
} from '../src/errors/index.js';
import { DEFAULT_SANDBOX_LIMITS } from '../src/sandbox/limits.js';
import { checkPlugin, runPlugin, sandboxWorkerCounts } from '../src/sandbox/run-plugin.js';
import { parseWasmModuleInfo, WasmParseError } from '../src/sandbox/wasm-module-info.js';
import { seededRandom } from '../src/smoke/seeded-random.js';

/** The `code` of every sandbox error class. */
const SANDBOX_ERROR_TYPES = ERROR_CLASSES.filter((c) => c.prototype instanceof SandboxError).map((c) => c.code);

const PLUGINS = new URL('../plugins/', import.meta.url);
const plugin = (name: string): Promise<Buffer> => readFile(new URL(`${name}.wasm`, PLUGINS));
const EMPTY = new Uint8Array(0);

/** Awaits `promise`, expects it to reject with an instance of `type`, and returns the error. */
async function rejection<T extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => T): Promise<T> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  return caught;
}

function assertSandboxError(err: { type: string; retryable: boolean; functionName: string; message: string }, fn: string): void {
  assert.ok(SANDBOX_ERROR_TYPES.includes(err.type), err.type);
  assert.equal(err.retryable, false);
  assert.equal(err.functionName, fn);
}

// ---------------------------------------------------------------------------------------------
// Hand-made modules for the parser and the pre-checks.

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}
const str = (s: string): number[] => [...leb(Buffer.byteLength(s)), ...Buffer.from(s)];
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const module = (...sections: number[][]): Uint8Array => new Uint8Array([...HEADER, ...sections.flat()]);

const TYPE_I32_RESULT = section(1, [0x01, 0x60, 0x00, 0x01, 0x7f]);
const FUNC_0 = section(3, [0x01, 0x00]);
const MEMORY_1_TO_16 = section(5, [0x01, 0x01, 0x01, 0x10]);
const EXPORT_RUN = section(7, [0x01, ...str('run'), 0x00, 0x00]);
/** Body: no locals, i32.const 0, end. */
const CODE_OK = section(10, [0x01, 0x04, 0x00, 0x41, 0x00, 0x0b]);
/** Body with an undefined opcode: passes the outline parser, fails compilation. */
const CODE_BAD = section(10, [0x01, 0x04, 0x00, 0xff, 0xff, 0x0b]);
/** Body: no locals, unreachable, end. */
const CODE_UNREACHABLE = section(10, [0x01, 0x03, 0x00, 0x00, 0x0b]);
/** A module whose start function loops forever: it never finishes instantiating. */
const START_LOOP = module(
  section(1, [0x01, 0x60, 0x00, 0x00]),
  FUNC_0,
  MEMORY_1_TO_16,
  EXPORT_RUN,
  section(8, [0x00]),
  section(10, [0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b]),
);
const importSection = (...imports: number[][]): number[] => section(2, [...leb(imports.length), ...imports.flat()]);
const funcImport = (mod: string, field: string): number[] => [...str(mod), ...str(field), 0x00, 0x00];

function expectParseError(bytes: Uint8Array, pattern: RegExp): WasmParseError {
  let caught: unknown;
  try {
    parseWasmModuleInfo(bytes);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof WasmParseError, `expected WasmParseError, got ${String(caught)}`);
  assert.match(caught.message, pattern);
  return caught;
}

describe('wasm-module-info', () => {
  test('reads header, sections, memory limits, imports and exports of a hand-made module', () => {
    const info = parseWasmModuleInfo(
      module(
        TYPE_I32_RESULT,
        importSection(funcImport('extism:host/env', 'alloc'), [...str('env'), ...str('mem'), 0x02, 0x01, 0x02, 0x08]),
        FUNC_0,
        section(4, [0x01, 0x70, 0x01, 0x01, 0x01]),
        MEMORY_1_TO_16,
        EXPORT_RUN,
        CODE_OK,
        section(0, [...str('name'), 0x01, 0x02]),
      ),
    );
    assert.equal(info.version, 1);
    assert.deepEqual(
      info.sections.map((s) => s.id),
      [1, 2, 3, 4, 5, 7, 10, 0],
    );
    assert.equal(info.sections.at(-1)?.name, 'name');
    assert.deepEqual(info.imports, [
      { module: 'extism:host/env', field: 'alloc', kind: 'function' },
      { module: 'env', field: 'mem', kind: 'memory', limits: { min: 2, max: 8, shared: false, index64: false } },
    ]);
    assert.deepEqual(info.memories, [{ min: 1, max: 16, shared: false, index64: false }]);
    assert.deepEqual(info.tables, [{ min: 1, max: 1, shared: false, index64: false }]);
    assert.deepEqual(info.exports, [{ name: 'run', kind: 'function' }]);
  });

  test('a memory without a maximum reads as max null; an empty module has no sections', () => {
    assert.deepEqual(parseWasmModuleInfo(module(section(5, [0x01, 0x00, 0x03]))).memories, [
      { min: 3, max: null, shared: false, index64: false },
    ]);
    assert.deepEqual(parseWasmModuleInfo(module()).sections, []);
  });

  test('reads the built plugins: hostile-memory declares 256 pages, hostile-no-max none', async () => {
    assert.equal(parseWasmModuleInfo(await plugin('hostile-memory')).memories[0]?.max, 256);
    assert.equal(parseWasmModuleInfo(await plugin('hostile-no-max')).memories[0]?.max, null);
    const wasi = parseWasmModuleInfo(await plugin('hostile-wasi'));
    assert.deepEqual(wasi.imports, [{ module: 'wasi_snapshot_preview1', field: 'fd_write', kind: 'function' }]);
  });

  test('not WebAssembly: too short, wrong magic, other versions, a component', () => {
    expectParseError(new Uint8Array(0), /shorter than the 8-byte header/);
    expectParseError(new Uint8Array([0x00, 0x61, 0x73]), /shorter than the 8-byte header/);
    expectParseError(new Uint8Array(Buffer.from('#!/bin/sh\necho hi\n')), /missing the "\\0asm" magic/);
    expectParseError(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00]), /version 2/);
    expectParseError(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]), /component/);
  });

  test('truncated: a section longer than the file, and a name cut off inside its section', () => {
    const err = expectParseError(module([0x05, 0x0a, 0x01, 0x01]), /memory section 5 declares 10 bytes but only 2 remain/);
    assert.equal(err.offset, 8);
    expectParseError(module(section(2, [0x01, 0x0a, 0x61, 0x62])), /unexpected end of import section while reading import 0 module name/);
    expectParseError(module(section(5, [0x01, 0x01, 0x01])), /unexpected end of memory section while reading memory maximum/);
    expectParseError(module([0x05]), /unexpected end of module while reading size of section 5/);
  });

  test('overlong or oversized LEB128 is refused', () => {
    // A section size in six bytes (a u32 takes at most five).
    expectParseError(module([0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), /overlong LEB128 for size of section 1/);
    // Five bytes whose last one carries bits beyond 32.
    expectParseError(module([0x01, 0xff, 0xff, 0xff, 0xff, 0x7f]), /LEB128 for size of section 1 exceeds 32 bits/);
    // The same inside a section: a memory minimum of 2^35.
    expectParseError(module(section(5, [0x01, 0x00, 0x80, 0x80, 0x80, 0x80, 0x40])), /LEB128 for memory minimum exceeds 32 bits/);
    // A redundant but in-range encoding is valid (the spec allows padding up to the limit).
    assert.equal(parseWasmModuleInfo(module(section(5, [0x01, 0x00, 0x82, 0x80, 0x00]))).memories[0]?.min, 2);
  });

  test('other malformations: counts beyond the section, trailing bytes, order, limits, UTF-8', () => {
    expectParseError(module(section(2, [0xff, 0xff, 0x03])), /import count 65535 exceeds/);
    expectParseError(module(section(5, [0x01, 0x00, 0x01, 0x00])), /memory section has 1 bytes after its last entry/);
    expectParseError(module(MEMORY_1_TO_16, TYPE_I32_RESULT), /type section is duplicated or out of order/);
    expectParseError(module(MEMORY_1_TO_16, MEMORY_1_TO_16), /memory section is duplicated or out of order/);
    expectParseError(module(section(42, [])), /unknown section id 42/);
    expectParseError(module(section(5, [0x01, 0x01, 0x08, 0x02])), /memory maximum 2 is below its minimum 8/);
    expectParseError(module(section(5, [0x01, 0x09, 0x01])), /unknown memory limits flags 0x9/);
    expectParseError(module(section(2, [0x01, 0x02, 0xc3, 0x28, 0x00, 0x00, 0x00])), /not valid UTF-8/);
    expectParseError(module(section(2, [0x01, ...str('m'), ...str('f'), 0x07])), /unknown kind 0x7 of import "m"."f"/);
  });

  test('every truncation and 3000 random byte flips of a real plugin end in a WasmParseError or a result', async () => {
    const bytes = new Uint8Array(await plugin('sandbox-echo'));
    let parsed = 0;
    let refused = 0;
    const attempt = (candidate: Uint8Array): void => {
      try {
        parseWasmModuleInfo(candidate);
        parsed++;
      } catch (err) {
        assert.ok(err instanceof WasmParseError, `unexpected ${String(err)}`);
        refused++;
      }
    };
    for (let length = 0; length <= bytes.length; length++) attempt(bytes.subarray(0, length));
    const random = seededRandom(20_240_601);
    for (let i = 0; i < 3000; i++) {
      const mutated = bytes.slice();
      for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) {
        mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
      }
      attempt(mutated);
    }
    assert.ok(parsed > 0 && refused > 0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('runPlugin', () => {
  test('echo returns its input: text from a pooled Buffer, empty, and 1 MiB of binary', async () => {
    const echo = await plugin('sandbox-echo');
    assert.equal(Buffer.from(await runPlugin(echo, 'echo', Buffer.from('hello, sandbox'))).toString(), 'hello, sandbox');
    assert.deepEqual(await runPlugin(echo, 'echo', EMPTY), EMPTY);
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 7919) & 0xff);
    assert.deepEqual(await runPlugin(echo, 'echo', big), big);
  });

  test("output_set's length is honoured (not the whole kernel block)", async () => {
    assert.equal(Buffer.from(await runPlugin(await plugin('sandbox-echo'), 'short_output', EMPTY)).toString(), 'hello');
  });

  test('an infinite loop ends at its deadline with SandboxTimeoutError', async (t) => {
    const err = await rejection(runPlugin(await plugin('hostile-loop'), 'run', EMPTY, { timeoutMs: 500 }), SandboxTimeoutError);
    assertSandboxError(err, 'run');
    assert.equal(err.type, 'SandboxTimeout');
    assert.equal(err.deadlineMs, 500);
    assert.equal(err.stopped, true);
    assert.match(err.message, /plugin function "run" did not finish within its 500 ms deadline/);
    t.diagnostic(`worker stopped ${err.stoppedAfterMs.toFixed(1)} ms after the call started: ` +
      `${(err.stoppedAfterMs - err.deadlineMs).toFixed(1)} ms past the 500 ms deadline`);
  });

  test('the host keeps serving other calls while a plugin loops', async () => {
    const [loop, echo] = await Promise.all([plugin('hostile-loop'), plugin('sandbox-echo')]);
    let loopEnded = false;
    const looping = runPlugin(loop, 'run', EMPTY, { timeoutMs: 3000 }).finally(() => {
      loopEnded = true;
    });
    const outputs = await Promise.all(['a', 'b', 'c'].map((s) => runPlugin(echo, 'echo', Buffer.from(s))));
    assert.deepEqual(outputs.map((o) => Buffer.from(o).toString()), ['a', 'b', 'c']);
    assert.equal(loopEnded, false, 'the echo calls finished while the loop was still running');
    await rejection(looping, SandboxTimeoutError);
  });

  test('the deadline also covers instantiation: a start function that loops forever', async () => {
    const err = await rejection(runPlugin(START_LOOP, 'run', EMPTY, { timeoutMs: 300 }), SandboxTimeoutError);
    assert.equal(err.stopped, true);
  });

  test('an ordinary trap (unreachable, memory far below its maximum) is SandboxTrapError', async () => {
    const wasm = module(TYPE_I32_RESULT, FUNC_0, MEMORY_1_TO_16, EXPORT_RUN, CODE_UNREACHABLE);
    const err = await rejection(runPlugin(wasm, 'run', EMPTY), SandboxTrapError);
    assertSandboxError(err, 'run');
    assert.equal(err.message, 'plugin function "run" trapped: unreachable');
  });

  test('a linear-memory bomb ends with SandboxMemoryError (linear-memory)', async () => {
    const err = await rejection(runPlugin(await plugin('hostile-memory'), 'run', EMPTY), SandboxMemoryError);
    assertSandboxError(err, 'run');
    assert.equal(err.type, 'SandboxMemoryLimit');
    assert.equal(err.resource, 'linear-memory');
    assert.equal(err.limitBytes, 256 * 65536);
    assert.ok(err.usedBytes > 0 && err.usedBytes <= err.limitBytes);
    assert.match(err.message, /plugin function "run" ran out of memory \(linear-memory\)/);
  });

  test('a module without a memory maximum is refused before running', async () => {
    const before = sandboxWorkerCounts().started;
    const err = await rejection(runPlugin(await plugin('hostile-no-max'), 'run', EMPTY), SandboxInvalidModuleError);
    assertSandboxError(err, 'run');
    assert.equal(err.type, 'SandboxInvalidModule');
    assert.match(err.message, /memory declares no maximum/);
    assert.equal(sandboxWorkerCounts().started, before, 'no worker was started');
  });

  test('a memory maximum above maxMemoryBytes is refused before running', async () => {
    const err = await rejection(
      runPlugin(await plugin('hostile-memory'), 'run', EMPTY, { maxMemoryBytes: 8 * 1024 * 1024 }),
      SandboxInvalidModuleError,
    );
    assert.match(err.message, /maximum of 256 pages \(16777216 bytes\), above the sandbox limit of 128 pages/);
  });

  test('WASI and HTTP importers are refused with SandboxForbiddenImportError naming the import', async () => {
    const before = sandboxWorkerCounts().started;
    const wasi = await rejection(runPlugin(await plugin('hostile-wasi'), 'run', EMPTY), SandboxForbiddenImportError);
    assertSandboxError(wasi, 'run');
    assert.equal(wasi.type, 'SandboxForbiddenImport');
    assert.equal(wasi.importModule, 'wasi_snapshot_preview1');
    assert.equal(wasi.importField, 'fd_write');
    assert.match(wasi.message, /"wasi_snapshot_preview1"\."fd_write"/);

    const http = await rejection(runPlugin(await plugin('hostile-http'), 'run', EMPTY), SandboxForbiddenImportError);
    assert.equal(http.importModule, 'extism:host/env');
    assert.equal(http.importField, 'http_request');
    assert.match(http.message, /"extism:host\/env"\."http_request" \(network access is not allowed/);
    assert.equal(sandboxWorkerCounts().started, before, 'no worker was started');
  });

  test('imports outside the allow-list, imported memories and unbounded tables are refused', () => {
    const base = [TYPE_I32_RESULT];
    const rest = [FUNC_0, MEMORY_1_TO_16, EXPORT_RUN, CODE_OK];
    assert.throws(
      () => checkPlugin(module(...base, importSection(funcImport('env', 'abort')), ...rest), 'run'),
      (err: unknown) => err instanceof SandboxForbiddenImportError && /provides no module "env"/.test(err.message),
    );
    assert.throws(
      () => checkPlugin(module(...base, importSection(funcImport('extism:host/env', 'http_headers')), ...rest), 'run'),
      (err: unknown) => err instanceof SandboxForbiddenImportError && err.importField === 'http_headers',
    );
    assert.throws(
      () => checkPlugin(module(...base, importSection([...str('env'), ...str('memory'), 0x02, 0x01, 0x01, 0x01]), FUNC_0, EXPORT_RUN, CODE_OK), 'run'),
      (err: unknown) => err instanceof SandboxInvalidModuleError && /imports its memory \("env"\."memory"\)/.test(err.message),
    );
    assert.throws(
      () => checkPlugin(module(...base, FUNC_0, section(4, [0x01, 0x70, 0x00, 0x01]), MEMORY_1_TO_16, EXPORT_RUN, CODE_OK), 'run'),
      (err: unknown) => err instanceof SandboxInvalidModuleError && /table 0 declares no maximum/.test(err.message),
    );
    // Allowed kernel imports pass.
    checkPlugin(module(...base, importSection(funcImport('extism:host/env', 'alloc'), funcImport('extism:host/env', 'log_info')), ...rest), 'run');
  });

  test('host-side kernel memory bombs end with SandboxMemoryError (host-memory)', async () => {
    const wasm = await plugin('hostile-host-alloc');
    const blocks = await rejection(runPlugin(wasm, 'run', EMPTY), SandboxMemoryError);
    assertSandboxError(blocks, 'run');
    assert.equal(blocks.resource, 'host-memory');
    assert.equal(blocks.limitBytes, DEFAULT_SANDBOX_LIMITS.maxHostBytes);
    assert.match(blocks.message, /plugin function "run" ran out of memory \(host-memory\): alloc\(8388608\) would bring/);

    const vars = await rejection(runPlugin(wasm, 'vars', EMPTY, { maxHostBytes: 16 << 20 }), SandboxMemoryError);
    assert.equal(vars.resource, 'host-memory');
    assert.equal(vars.limitBytes, 16 << 20);

    const tiny = await rejection(runPlugin(wasm, 'tiny', EMPTY), SandboxMemoryError);
    assert.equal(tiny.resource, 'host-memory');
    assert.match(tiny.message, /block table is full/);
    const small = await rejection(runPlugin(wasm, 'tiny', EMPTY, { maxHostBytes: 1 << 20 }), SandboxMemoryError);
    assert.match(small.message, /alloc\(0\) would bring host-side kernel memory to/);
  });

  test('freed kernel blocks stop counting: 512 MiB allocated and freed 8 MiB at a time fits 64 MiB', async () => {
    const out = await runPlugin(await plugin('hostile-host-alloc'), 'churn', EMPTY);
    assert.equal(Buffer.from(out).toString(), 'freed');
  });

  test('a plugin-reported error becomes PluginReportedError with the message verbatim', async () => {
    const err = await rejection(runPlugin(await plugin('hostile-error'), 'run', EMPTY), PluginReportedError);
    assertSandboxError(err, 'run');
    assert.equal(err.type, 'PluginError');
    assert.equal(err.message, 'unsupported operator FancyConv');
  });

  test('an abort (thrown error) becomes SandboxTrapError carrying the abort message', async () => {
    const err = await rejection(runPlugin(await plugin('hostile-error'), 'crash', EMPTY), SandboxTrapError);
    assertSandboxError(err, 'crash');
    assert.equal(err.type, 'SandboxTrap');
    assert.match(err.message, /plugin function "crash" trapped: abort: invariant broken: tensor rank 9 at assembly\/error\.ts/);
  });

  test('garbage, a module that fails compilation, and a missing export are SandboxInvalidModuleError', async () => {
    const garbage = await rejection(runPlugin(new Uint8Array(Buffer.from('definitely not wasm')), 'run', EMPTY), SandboxInvalidModuleError);
    assertSandboxError(garbage, 'run');
    assert.match(garbage.message, /refused to run plugin function "run": not a WebAssembly module/);

    const badCode = await rejection(
      runPlugin(module(TYPE_I32_RESULT, FUNC_0, MEMORY_1_TO_16, EXPORT_RUN, CODE_BAD), 'run', EMPTY),
      SandboxInvalidModuleError,
    );
    assert.match(badCode.message, /not valid WebAssembly/);

    const missing = await rejection(runPlugin(await plugin('sandbox-echo'), 'nope', EMPTY), SandboxInvalidModuleError);
    assert.match(missing.message, /exports no function named "nope" \(it exports: echo, short_output\)/);

    // The hand-made module is otherwise fine: it runs and outputs nothing.
    assert.deepEqual(await runPlugin(module(TYPE_I32_RESULT, FUNC_0, MEMORY_1_TO_16, EXPORT_RUN, CODE_OK), 'run', EMPTY), EMPTY);
  });

  test('after all of the above, in the same process, echo still works and no worker is left', async () => {
    const out = await runPlugin(await plugin('sandbox-echo'), 'echo', Buffer.from('still serving'));
    assert.equal(Buffer.from(out).toString(), 'still serving');
    const counts = sandboxWorkerCounts();
    assert.equal(counts.running, 0);
    assert.ok(counts.started >= 10);
  });
});
