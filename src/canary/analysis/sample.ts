/**
 * A sample of finite numbers sorted ascending. The brand means "checked and sorted by
 * `sortedSample`", so the functions that need sorted input cannot be handed anything else.
 */
export type SortedSample = Float64Array & { readonly __sortedSample: unique symbol };

/**
 * Copies `values` into a new ascending Float64Array. Every value must be finite (NaN and
 * ±Infinity throw a RangeError); -0 becomes +0, so equal values compare and serialize equal.
 */
export function sortedSample(values: ArrayLike<number>): SortedSample {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new RangeError(`sample value at index ${i} is not a finite number: ${String(v)}`);
    }
    out[i] = v + 0; // -0 + 0 === +0
  }
  // A TypedArray's default sort is numeric and total for finite values: deterministic.
  out.sort();
  return out as SortedSample;
}
