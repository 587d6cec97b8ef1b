/**
 * The onnxruntime child process (entry point; started by isolated-runtime.ts). It answers one
 * request and exits, so whatever onnxruntime does to its process (a crash, an abort, memory it
 * never gives back) ends with it and never reaches the worker.
 */
import { answerNativeRequest, firstLine } from './ort-session.js';
import type { NativeReply, NativeRequest } from './protocol.js';

if (process.send) {
  process.once('message', (request: NativeRequest) => {
    void answerNativeRequest(request)
      .catch((err: unknown): NativeReply => ({ ok: false, phase: 'run', message: firstLine(err) }))
      .then((reply) => process.send!(reply, undefined, undefined, () => process.exit(0)));
  });
}
