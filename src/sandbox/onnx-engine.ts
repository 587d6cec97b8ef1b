/**
 * Glue between the host and the ONNX engine plugin (plugins/onnx-engine, built into
 * dist/plugins/onnx-engine.wasm): encode the request, run the plugin in the sandbox, decode.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import { decodeResponse, encodeRequest, type Tensor } from './tensor-codec.js';
import { decodeValuesResponse, encodeValuesRequest, type Value } from './value-codec.js';
import type { SandboxLimits } from './limits.js';
import { runPlugin } from './run-plugin.js';

export const ONNX_ENGINE_WASM_PATH: string = join(PROJECT_ROOT, 'dist', 'plugins', 'onnx-engine.wasm');

let wasmPromise: Promise<Uint8Array> | undefined;
let supportedOpsPromise: Promise<string[]> | undefined;

/** The engine's bytes, read once per process. */
export function loadEngineWasm(): Promise<Uint8Array> {
  wasmPromise ??= readFile(ONNX_ENGINE_WASM_PATH).then(
    (buf) => new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
    (err: NodeJS.ErrnoException) => {
      wasmPromise = undefined;
      if (err.code === 'ENOENT') throw new Error(`the ONNX engine plugin is not built: ${ONNX_ENGINE_WASM_PATH} is missing (run bash scripts/build-plugins.sh)`);
      throw err;
    },
  );
  return wasmPromise;
}

/** Runs `model` on `inputs` in the sandboxed engine; the outputs come back in the graph's output order. */
export async function runOnnxInSandbox(model: Uint8Array, inputs: readonly Tensor[], limits?: Partial<SandboxLimits>): Promise<Tensor[]> {
  const wasm = await loadEngineWasm();
  const output = await runPlugin(wasm, 'run', encodeRequest(model, inputs), limits);
  return decodeResponse(output);
}

/** runOnnxInSandbox for graphs whose inputs or outputs may be sequences or optionals. */
export async function runOnnxValuesInSandbox(model: Uint8Array, inputs: readonly Value[], limits?: Partial<SandboxLimits>): Promise<Value[]> {
  const wasm = await loadEngineWasm();
  const output = await runPlugin(wasm, 'run', encodeValuesRequest(model, inputs), limits);
  return decodeValuesResponse(output);
}

/** The operator names the engine implements (its plugin function supported_ops), read once per process. */
export function engineSupportedOps(): Promise<string[]> {
  supportedOpsPromise ??= (async () => {
    const wasm = await loadEngineWasm();
    const output = await runPlugin(wasm, 'supported_ops', new Uint8Array(0));
    const text = Buffer.from(output).toString('utf8');
    let ops: unknown;
    try {
      ops = JSON.parse(text);
    } catch {
      throw new Error(`the engine's supported_ops did not return JSON: ${text.slice(0, 200)}`);
    }
    if (!Array.isArray(ops) || !ops.every((op): op is string => typeof op === 'string')) {
      throw new Error(`the engine's supported_ops did not return an array of strings: ${text.slice(0, 200)}`);
    }
    return ops;
  })().catch((err: unknown) => {
    supportedOpsPromise = undefined;
    throw err;
  });
  return supportedOpsPromise;
}
