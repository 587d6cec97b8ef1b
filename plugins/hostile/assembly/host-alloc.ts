// hostile-host-alloc: asks the Extism kernel for ever more host-side memory, which lives outside
// the plugin's linear memory and so outside its --maximumMemory cap.
import { Host, Memory } from '@extism/as-pdk';
import { alloc, store_u8, var_set } from '@extism/as-pdk/lib/env';
import './abort';

/** Allocates 8 MiB kernel blocks and never frees them. */
export function run(): i32 {
  while (true) {
    const block = Memory.allocate(8 << 20);
    store_u8(block.offset, 1);
  }
  return 0;
}

/** Keeps 4 MiB kernel blocks alive as variables var0, var1, ... */
export function vars(): i32 {
  let i = 0;
  while (true) {
    const key = Memory.allocateString('var' + i.toString());
    const value = Memory.allocate(4 << 20);
    var_set(key.offset, value.offset);
    i++;
  }
  return 0;
}

/** Zero-byte allocations: no payload, but every one costs the host a block record. */
export function tiny(): i32 {
  while (true) {
    alloc(0);
  }
  return 0;
}

/**
 * Well-behaved churn: allocates and frees an 8 MiB kernel block 64 times (512 MiB in total,
 * never more than 8 MiB at once), then outputs "freed". Freed blocks must stop counting.
 */
export function churn(): i32 {
  for (let i = 0; i < 64; i++) {
    const block = Memory.allocate(8 << 20);
    store_u8(block.offset, 1);
    block.free();
  }
  Host.outputString('freed');
  return 0;
}
