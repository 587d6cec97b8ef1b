/**
 * Typed errors of the plugin sandbox. None is retryable: running the same module on the same
 * input under the same limits fails the same way. Each has its own `type`, which becomes the
 * ApplicationFailure type in Temporal history.
 */
import { BadInputError } from './base.js';

/**
 * How messages name what ran: a plugin's export, or the sandboxed ONNX engine (whose
 * "function name" is ENGINE_CALL).
 */
export const ENGINE_CALL = 'onnxruntime-web';
export function describeCall(functionName: string): string {
  return functionName === ENGINE_CALL ? 'the sandboxed ONNX engine (onnxruntime-web)' : `plugin function "${functionName}"`;
}

/** All sandbox errors; `functionName` is the plugin export that was (or would have been) called. */
export abstract class SandboxError extends BadInputError {
  readonly functionName: string;
  constructor(functionName: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.functionName = functionName;
  }
}

/** The call did not finish by its deadline; the worker running it was terminated. */
export class SandboxTimeoutError extends SandboxError {
  static override readonly code = 'SandboxTimeout';
  /** The deadline, in milliseconds from the start of the call. */
  readonly deadlineMs: number;
  /** Milliseconds from the start of the call until the worker had actually stopped. */
  readonly stoppedAfterMs: number;
  /** False when the worker had not confirmed its exit within the grace period (it was unref'd). */
  readonly stopped: boolean;
  constructor(functionName: string, deadlineMs: number, stoppedAfterMs: number, stopped: boolean) {
    super(
      functionName,
      `${describeCall(functionName)} did not finish within its ${deadlineMs} ms deadline; ` +
        (stopped
          ? `its worker was terminated and had stopped ${Math.round(stoppedAfterMs)} ms after the call started`
          : `its worker was told to terminate but had not stopped ${Math.round(stoppedAfterMs)} ms after the call started`),
    );
    this.deadlineMs = deadlineMs;
    this.stoppedAfterMs = stoppedAfterMs;
    this.stopped = stopped;
  }
}

/** Which memory ran out. */
export type SandboxMemoryResource =
  /** the module's own linear memory reached its declared maximum (memory.grow failed) */
  | 'linear-memory'
  /** the Extism kernel's host-side blocks and variables reached maxHostBytes */
  | 'host-memory'
  /** the worker's JavaScript heap reached its resourceLimits */
  | 'worker-heap';

/** The plugin ran out of memory it is allowed to use. */
export class SandboxMemoryError extends SandboxError {
  static override readonly code = 'SandboxMemoryLimit';
  readonly resource: SandboxMemoryResource;
  /** The limit that was hit, in bytes (0 when unknown). */
  readonly limitBytes: number;
  /** How much was in use (or would have been, for a refused request) when it failed (0 when unknown). */
  readonly usedBytes: number;
  constructor(
    functionName: string,
    resource: SandboxMemoryResource,
    reason: string,
    limitBytes: number,
    usedBytes: number,
    options?: { cause?: unknown },
  ) {
    super(functionName, `${describeCall(functionName)} ran out of memory (${resource}): ${reason}`, options);
    this.resource = resource;
    this.limitBytes = limitBytes;
    this.usedBytes = usedBytes;
  }
}

/** The module imports something the sandbox does not provide; refused before anything ran. */
export class SandboxForbiddenImportError extends SandboxError {
  static override readonly code = 'SandboxForbiddenImport';
  readonly importModule: string;
  readonly importField: string;
  readonly importKind: string;
  constructor(functionName: string, importModule: string, importField: string, importKind: string, reason: string) {
    super(
      functionName,
      `refused to run ${describeCall(functionName)}: the module imports ${importKind} ` +
        `"${importModule}"."${importField}" (${reason})`,
    );
    this.importModule = importModule;
    this.importField = importField;
    this.importKind = importKind;
  }
}

/**
 * The bytes are not a module the sandbox will run: not WebAssembly, malformed, imports its
 * memory, declares no memory maximum or one above the limit, or lacks the requested export.
 */
export class SandboxInvalidModuleError extends SandboxError {
  static override readonly code = 'SandboxInvalidModule';
  readonly reason: string;
  constructor(functionName: string, reason: string, options?: { cause?: unknown }) {
    super(functionName, `refused to run ${describeCall(functionName)}: ${reason}`, options);
    this.reason = reason;
  }
}

/** The plugin trapped (or aborted, or its worker died) for a reason other than memory. */
export class SandboxTrapError extends SandboxError {
  static override readonly code = 'SandboxTrap';
  /** The trap's own message (e.g. "unreachable", or the plugin's abort message). */
  readonly trap: string;
  constructor(functionName: string, trap: string, options?: { cause?: unknown }) {
    super(functionName, `${describeCall(functionName)} trapped: ${trap}`, options);
    this.trap = trap;
  }
}

/**
 * The plugin itself reported an error (Extism `error_set`) and returned normally. `.message` is
 * the plugin's message verbatim, so callers can match it; `functionName` says which export.
 */
export class PluginReportedError extends SandboxError {
  static override readonly code = 'PluginError';
  constructor(functionName: string, pluginMessage: string) {
    super(functionName, pluginMessage);
  }
}

/**
 * The sandboxed onnxruntime refused the model or failed to run it (its own message, e.g. a
 * shape inference or unsupported-operator error), at `phase`.
 */
export class SandboxEngineError extends SandboxError {
  static override readonly code = 'SandboxEngineError';
  readonly phase: 'load' | 'input' | 'run' | 'output';
  readonly engineMessage: string;
  constructor(phase: 'load' | 'input' | 'run' | 'output', engineMessage: string) {
    const what = { load: 'could not load the model', input: 'could not take the inputs', run: 'failed running the model', output: 'returned outputs smoke cannot read' }[phase];
    super(ENGINE_CALL, `${describeCall(ENGINE_CALL)} ${what}: ${engineMessage}`);
    this.phase = phase;
    this.engineMessage = engineMessage;
  }
}
