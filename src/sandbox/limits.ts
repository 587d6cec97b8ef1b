/**
 * What the plugin sandbox allows: resource limits and the kernel functions a plugin may import.
 * The host enforces all of it itself; @extism/extism 1.0.3 has no timeout, fuel or memory limit.
 */

/** WebAssembly page size: memory limits in a module are counted in 64 KiB pages. */
export const WASM_PAGE_BYTES = 65_536;

export interface SandboxLimits {
  /**
   * Wall-clock budget for one call, from starting the worker to the reply: worker start-up,
   * compilation, instantiation and the plugin function itself.
   */
  readonly timeoutMs: number;
  /**
   * The most linear memory a module may declare as its maximum. A module must declare a maximum
   * no larger than this (rounded down to whole pages) or it is refused before it runs.
   */
  readonly maxMemoryBytes: number;
  /**
   * Host-side bytes the plugin may make the Extism kernel hold during the call (kernel `alloc`
   * blocks, which also carry its output and variable values, plus a per-block and per-variable
   * overhead). The call's input is supplied by the caller and is not counted.
   */
  readonly maxHostBytes: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = Object.freeze({
  timeoutMs: 10_000,
  maxMemoryBytes: 256 * 1024 * 1024,
  maxHostBytes: 64 * 1024 * 1024,
});

/** Merges overrides into the defaults and rejects nonsensical values (a programming error). */
export function resolveSandboxLimits(overrides: Partial<SandboxLimits> = {}): SandboxLimits {
  const limits: SandboxLimits = {
    timeoutMs: overrides.timeoutMs ?? DEFAULT_SANDBOX_LIMITS.timeoutMs,
    maxMemoryBytes: overrides.maxMemoryBytes ?? DEFAULT_SANDBOX_LIMITS.maxMemoryBytes,
    maxHostBytes: overrides.maxHostBytes ?? DEFAULT_SANDBOX_LIMITS.maxHostBytes,
  };
  if (!Number.isFinite(limits.timeoutMs) || limits.timeoutMs <= 0 || limits.timeoutMs > 2_147_483_647) {
    throw new RangeError(`sandbox timeoutMs must be a positive number of milliseconds below 2^31, got ${limits.timeoutMs}`);
  }
  if (!Number.isSafeInteger(limits.maxMemoryBytes) || limits.maxMemoryBytes < WASM_PAGE_BYTES) {
    throw new RangeError(`sandbox maxMemoryBytes must be an integer of at least one 64 KiB page, got ${limits.maxMemoryBytes}`);
  }
  if (!Number.isSafeInteger(limits.maxHostBytes) || limits.maxHostBytes < 0) {
    throw new RangeError(`sandbox maxHostBytes must be a non-negative integer, got ${limits.maxHostBytes}`);
  }
  return Object.freeze(limits);
}

/** The import module of the Extism kernel. */
export const EXTISM_KERNEL_MODULE = 'extism:host/env';

/**
 * The kernel functions a sandboxed plugin may import: everything @extism/extism 1.0.3's kernel
 * offers except I/O (`http_request`, `http_status_code`). Memory blocks, input, output, error,
 * config (the sandbox passes none), variables and logging (captured, bounded, never printed).
 * Anything else (WASI, HTTP, `env`, other modules, or kernel functions 1.0.3 does not have such
 * as `http_headers`, `error_get` or `get_log_level`) is refused before the module runs.
 */
export const ALLOWED_KERNEL_FUNCTIONS: ReadonlySet<string> = new Set([
  'alloc',
  'free',
  'length',
  'length_unsafe',
  'load_u8',
  'load_u64',
  'store_u8',
  'store_u64',
  'input_offset',
  'input_length',
  'input_load_u8',
  'input_load_u64',
  'output_set',
  'error_set',
  'config_get',
  'var_get',
  'var_set',
  'log_info',
  'log_warn',
  'log_debug',
  'log_error',
]);

/**
 * Why an import is refused, or null when it is allowed. Only functions may be imported, and only
 * from the kernel's allow-list (an imported memory is a module problem, reported separately).
 */
export function forbiddenImportReason(module: string, field: string, kind: string): string | null {
  if (module === EXTISM_KERNEL_MODULE) {
    if (kind !== 'function') return `the sandbox provides only functions from ${EXTISM_KERNEL_MODULE}, not a ${kind}`;
    if (ALLOWED_KERNEL_FUNCTIONS.has(field)) return null;
    if (field.startsWith('http_')) return 'network access is not allowed in the sandbox';
    return `the sandbox's kernel does not offer "${field}"`;
  }
  if (module === 'wasi_snapshot_preview1' || module === 'wasi_unstable' || module.startsWith('wasi:')) {
    return 'WASI (files, clocks, randomness, process) is not available in the sandbox';
  }
  return `the sandbox provides no module "${module}"; only ${EXTISM_KERNEL_MODULE} functions may be imported`;
}
