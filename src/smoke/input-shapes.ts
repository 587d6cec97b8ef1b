/**
 * The concrete shape of every generated smoke input: what the user gave (a whole shape by
 * input, a size by symbolic dimension name), else the model's fixed sizes, else defaults
 * that suit the model: spatial dimensions of image-like inputs big enough for conv nets,
 * everything else small.
 */
import type { DeclaredDim, DeclaredInput } from '../onnx/declared-shapes.js';
import type { TensorSignature } from '../release/types.js';
import type { SmokeInputSpec } from './input-spec.js';
import { SmokeInputError } from '../errors/index.js';

/** What a symbolic dimension becomes when nothing else decides it (sequence lengths, features, ...). */
export const SYMBOLIC_DIM_SIZE = 2;
/** Batch of an image-like input. */
export const IMAGE_BATCH = 1;
/**
 * Height and width of an image-like input when symbolic: 224, ImageNet's size, is a multiple
 * of 32 (the largest total stride of common classifier, detector and segmentation backbones,
 * whose FPN and U-Net concatenations need it), big enough for 7×7 kernels after five
 * stride-2 stages, and small enough that a smoke call stays quick.
 */
export const IMAGE_SIDE = 224;

const HOW_TO_SET_SHAPE = (input: string, example: string) => `--smoke-shape ${input}=${example} (release request: smoke.shapes["${input}"])`;

/**
 * One shape per input of the signature, in order. `declared` (from the model file) tells a
 * scalar from an unknown rank and names anonymous dimensions; without it the signature's
 * shapes are taken as they are.
 */
export function resolveInputShapes(signature: readonly TensorSignature[], declared: readonly DeclaredInput[] | undefined, spec: SmokeInputSpec = {}): number[][] {
  const names = new Set(signature.map((s) => s.name));
  for (const name of Object.keys(spec.shapes ?? {})) {
    if (!names.has(name)) throw new SmokeInputError(`smoke shapes name ${JSON.stringify(name)}, which is not an input of the model (inputs: ${[...names].join(', ')})`);
  }
  const declaredDims = signature.map((s) => declaredOf(s, declared));
  const symbols = new Set(declaredDims.flatMap((d) => (d ?? []).filter((x): x is string => typeof x === 'string')));
  for (const name of Object.keys(spec.dims ?? {})) {
    if (!symbols.has(name)) {
      throw new SmokeInputError(
        `smoke dims name ${JSON.stringify(name)}, which is not a symbolic dimension of the model's inputs (${symbols.size ? [...symbols].map((s) => JSON.stringify(s)).join(', ') : 'it has none'}); use --smoke-shape for inputs with anonymous dimensions`,
      );
    }
  }

  // A named dimension gets one size across all inputs: the first place it appears decides its default.
  const symbolSizes = new Map<string, number>(Object.entries(spec.dims ?? {}));
  const problems: string[] = [];
  const shapes = signature.map((input, i) => {
    const dims = declaredDims[i];
    const given = spec.shapes?.[input.name];
    if (given) {
      if (dims === undefined) return [...given];
      if (given.length !== dims.length) {
        throw new SmokeInputError(`input ${input.name}: the given shape [${given.join(', ')}] has rank ${given.length}, the model declares rank ${dims.length}: [${showDims(dims)}]`);
      }
      dims.forEach((d, axis) => {
        if (typeof d === 'number' && d !== given[axis]) {
          throw new SmokeInputError(`input ${input.name}: dimension ${axis} is fixed at ${d} by the model ([${showDims(dims)}]), the given shape [${given.join(', ')}] has ${given[axis]}`);
        }
      });
      return [...given];
    }
    if (dims === undefined) {
      problems.push(`input ${input.name}: the model declares no shape for it, so not even its rank is known; give its shape with ${HOW_TO_SET_SHAPE(input.name, '1x3x224x224')}`);
      return [];
    }
    const defaults = defaultSizes(input, dims);
    return dims.map((d, axis) => {
      if (typeof d === 'number') return d;
      if (typeof d === 'string') {
        if (!symbolSizes.has(d)) symbolSizes.set(d, defaults[axis]!);
        return symbolSizes.get(d)!;
      }
      if (defaults[axis] === undefined) {
        const example = dims.map((x, k) => (typeof x === 'number' ? x : (defaults[k] ?? 'N'))).join('x');
        problems.push(`input ${input.name}: dimension ${axis} of [${showDims(dims)}] has neither a size nor a name in the model, so no size can be chosen for it; give the shape with ${HOW_TO_SET_SHAPE(input.name, example)}`);
        return 0;
      }
      return defaults[axis]!;
    });
  });
  if (problems.length) throw new SmokeInputError(problems.length === 1 ? problems[0]! : `no smoke inputs can be generated: ${problems.join('; ')}`);
  return shapes;
}

/**
 * Per axis, the default for a dimension that is not fixed; undefined where an anonymous
 * dimension cannot be guessed (anything but the leading, batch-like axis and image sides).
 * Named dimensions always get one (SYMBOLIC_DIM_SIZE where nothing better is known).
 */
function defaultSizes(input: TensorSignature, dims: readonly DeclaredDim[]): (number | undefined)[] {
  const sizes: (number | undefined)[] = dims.map((d, axis) => (axis === 0 || d !== null ? SYMBOLIC_DIM_SIZE : undefined));
  const spatial = imageSpatialAxes(input.type, dims);
  if (spatial) {
    sizes[0] = IMAGE_BATCH;
    for (const axis of spatial) sizes[axis] = IMAGE_SIDE;
  }
  return sizes;
}

/**
 * The height and width axes of a 4-D float input that looks like an image batch: NCHW with a
 * fixed channel count of 1 to 4 (or no fixed dimension there, ONNX's default layout), or NHWC
 * with the channels last.
 */
export function imageSpatialAxes(type: string, dims: readonly DeclaredDim[]): [number, number] | undefined {
  if (dims.length !== 4 || !type.startsWith('float')) return undefined;
  const channels = (d: DeclaredDim) => typeof d === 'number' && d >= 1 && d <= 4;
  if (channels(dims[1]!)) return [2, 3];
  if (channels(dims[3]!) && typeof dims[1] !== 'number') return [1, 2];
  if (typeof dims[1] !== 'number') return [2, 3];
  return undefined;
}

function declaredOf(input: TensorSignature, declared: readonly DeclaredInput[] | undefined): DeclaredDim[] | undefined {
  const fromFile = declared?.find((d) => d.name === input.name);
  if (fromFile) return fromFile.dims ? [...fromFile.dims] : undefined;
  return input.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d !== '' ? d : null));
}

export function showDims(dims: readonly DeclaredDim[]): string {
  return dims.map((d) => (d === null ? '?' : typeof d === 'string' ? JSON.stringify(d) : String(d))).join(', ');
}
