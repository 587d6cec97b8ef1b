// Error state. AssemblyScript has no exceptions, so a failure is recorded here and every
// caller checks failed() and unwinds by returning early. Only the first message is kept.
//
// Message prefixes (the host matches on them):
//   "decode error: ..."  the request or the ONNX protobuf is malformed or truncated
//   "model error: ..."   the graph is inconsistent (missing input, shape mismatch, ...)
//   "unsupported ..."    a valid model uses an operator, data type or attribute value
//                        this engine does not implement

let message: string | null = null;

export function fail(msg: string): void {
  if (message === null) message = msg;
}

export function decodeError(msg: string): void {
  fail("decode error: " + msg);
}

export function modelError(msg: string): void {
  fail("model error: " + msg);
}

export function unsupported(msg: string): void {
  fail("unsupported " + msg);
}

export function failed(): bool {
  return message !== null;
}

export function errorMessage(): string {
  const m = message;
  return m === null ? "" : m;
}

export function resetError(): void {
  message = null;
}
