// The Extism kernel functions the plugin uses: input, output and error reporting only.
// (Imported one by one from as-pdk's env declarations so that nothing else, in particular
// no http_request, ends up in the module's import section.) The Extism JS host offers no
// bulk copy, so data moves 8 bytes per host call.
import { alloc, error_set, input_length, input_load_u64, input_load_u8, output_set, store_u64, store_u8 } from "@extism/as-pdk/lib/env";

export function inputLength(): i64 {
  return <i64>input_length();
}

export function inputU8(pos: i64): u32 {
  return <u32>input_load_u8(<u64>pos);
}

/** Copies input bytes [pos, pos + len) to linear memory at dst (the caller checked bounds). */
export function inputCopy(pos: i64, dst: usize, len: i32): void {
  let i = 0;
  for (; i + 8 <= len; i += 8) store<u64>(dst + <usize>i, input_load_u64(<u64>(pos + i)));
  for (; i < len; i++) store<u8>(dst + <usize>i, input_load_u8(<u64>(pos + i)));
}

/** A block of host memory being filled in order, then set as the call's output. */
export class OutputBlock {
  offs: u64;
  pos: u64 = 0;
  len: u64;

  constructor(len: i64) {
    this.len = <u64>len;
    this.offs = alloc(<u64>len);
  }

  write(ptr: usize, len: i32): void {
    const base = this.offs + this.pos;
    let i = 0;
    for (; i + 8 <= len; i += 8) store_u64(base + <u64>i, load<u64>(ptr + <usize>i));
    for (; i < len; i++) store_u8(base + <u64>i, load<u8>(ptr + <usize>i));
    this.pos += <u64>len;
  }

  finish(): void {
    output_set(this.offs, this.len);
  }
}

export function writeOutputString(s: string): void {
  const b = String.UTF8.encode(s);
  const out = new OutputBlock(b.byteLength);
  out.write(changetype<usize>(b), b.byteLength);
  out.finish();
}

/** Makes the host's plugin.call() reject with this message. */
export function setError(msg: string): void {
  const b = String.UTF8.encode(msg);
  const out = new OutputBlock(b.byteLength);
  out.write(changetype<usize>(b), b.byteLength);
  error_set(out.offs);
}
