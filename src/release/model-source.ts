import type { ModelSource } from './types.js';

/** The file a release reads: the ONNX file or folder, or the exporter's input (as the worker sees it). */
export function modelSourcePath(source: ModelSource): string {
  return source.kind === 'onnx' ? source.path : source.input;
}
