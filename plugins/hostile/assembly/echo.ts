// A well-behaved plugin: returns its input unchanged. The positive control for the sandbox.
import { Host, Memory } from '@extism/as-pdk';
import { output_set } from '@extism/as-pdk/lib/env';
import './abort';

export function echo(): i32 {
  Host.output(Host.input());
  return 0;
}

/** Outputs only the first 5 bytes of a 20-byte kernel block: output_set's length must be honoured. */
export function short_output(): i32 {
  const block = Memory.allocateString('hello, and then some');
  output_set(block.offset, 5);
  return 0;
}
