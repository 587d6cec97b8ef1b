import { readFile } from 'node:fs/promises';
import type { Tensor } from '../tensor/tensor.js';
import { runPlugin } from '../sandbox/run-plugin.js';
import type { SandboxLimits } from '../sandbox/limits.js';
import { sha256Hex } from '../hashing/stream-hash.js';
import { SmokeInputError } from '../errors/index.js';

/**
 * A release's own check, as an Extism plugin run under the sandbox limits. It is called with
 * JSON { model: { name, version, rootDigest }, inputs: [tensor], outputs: [tensor] }, each tensor
 * { name, type, dims, data: number[] } (the native outputs), and answers JSON
 * { "passed": boolean, "message": string }.
 */
export interface UserPluginVerdict {
  readonly path: string;
  readonly sha256: string;
  readonly passed: boolean;
  readonly message: string;
}

export async function runUserPlugin(
  plugin: { readonly path: string; readonly function?: string },
  context: { readonly model: { name: string; version: string; rootDigest: string }; readonly inputs: readonly Tensor[]; readonly outputs: readonly Tensor[] },
  limits: Partial<SandboxLimits>,
): Promise<UserPluginVerdict> {
  let wasm: Buffer;
  try {
    wasm = await readFile(plugin.path);
  } catch (err) {
    throw new SmokeInputError(`cannot read smoke plugin ${plugin.path}: ${(err as Error).message}`);
  }
  const input = JSON.stringify({ model: context.model, inputs: context.inputs.map(asJson), outputs: context.outputs.map(asJson) });
  const output = await runPlugin(wasm, plugin.function ?? 'check', Buffer.from(input, 'utf8'), limits);
  let verdict: { passed?: unknown; message?: unknown };
  try {
    verdict = JSON.parse(Buffer.from(output).toString('utf8')) as typeof verdict;
  } catch {
    throw new SmokeInputError(`smoke plugin ${plugin.path} answered something that is not JSON`);
  }
  if (typeof verdict.passed !== 'boolean') throw new SmokeInputError(`smoke plugin ${plugin.path} answered without a boolean "passed"`);
  return { path: plugin.path, sha256: sha256Hex(wasm), passed: verdict.passed, message: typeof verdict.message === 'string' ? verdict.message.slice(0, 500) : '' };
}

function asJson(t: Tensor) {
  const buffer = Uint8Array.from(t.data).buffer;
  const data =
    t.type === 'float32' ? Array.from(new Float32Array(buffer)) : t.type === 'int64' ? Array.from(new BigInt64Array(buffer), Number) : Array.from(new Uint8Array(buffer));
  return { name: t.name, type: t.type, dims: t.dims, data };
}
