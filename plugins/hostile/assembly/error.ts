// hostile-error: reports an error through Extism's error_set and returns non-zero; `crash`
// throws, which reaches the abort handler (error_set, then a trap).
import { Memory } from '@extism/as-pdk';
import { error_set } from '@extism/as-pdk/lib/env';
import './abort';

export function run(): i32 {
  const message = Memory.allocateString('unsupported operator FancyConv');
  error_set(message.offset);
  return 1;
}

export function crash(): i32 {
  throw new Error('invariant broken: tensor rank 9');
}
