// modelship ONNX engine: an Extism plugin (AssemblyScript) that decodes an ONNX model and
// runs it on float32 (and int64 shape) tensors inside the WebAssembly sandbox.
//
// Exports:
//   run            input "MSI1" request, output "MSO1" response (see codec.ts)
//   supported_ops  output a JSON array of the supported ai.onnx operator names
// Errors are reported with error_set (the host's call() rejects with the message) and a
// non-zero return code; the plugin never traps on bad input.
import { decodeRequest, writeResponse } from "./codec";
import { runModel } from "./engine";
import { errorMessage, failed, resetError } from "./errors";
import { setError, writeOutputString } from "./host";
import { decodeModel } from "./onnx/model";
import { supportedOps } from "./ops/registry";
import { resetPool } from "./tensor";

/** Wired with `--use abort=...`: reports the message, then traps (last resort, e.g. out of memory). */
function engineAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  setError("engine abort: " + (message === null ? "unknown" : message) + " at " + (fileName === null ? "?" : fileName) + ":" + line.toString() + ":" + column.toString());
  unreachable();
}

function finish(): i32 {
  if (failed()) {
    setError(errorMessage());
    resetError();
    return 1;
  }
  return 0;
}

export function run(): i32 {
  resetError();
  resetPool();
  const code = runInner();
  resetPool();
  return code;
}

function runInner(): i32 {
  const req = decodeRequest();
  if (req === null || failed()) return finish();
  const model = decodeModel(changetype<usize>(req.model), 0, req.modelLength);
  if (model === null || failed()) return finish();
  const outputs = runModel(model, req.inputs);
  if (outputs === null || failed()) return finish();
  if (!writeResponse(outputs) || failed()) return finish();
  return 0;
}

export function supported_ops(): i32 {
  const ops = supportedOps();
  let json = "[";
  for (let i = 0; i < ops.length; i++) {
    if (i > 0) json += ",";
    json += '"' + ops[i] + '"';
  }
  writeOutputString(json + "]");
  return 0;
}
