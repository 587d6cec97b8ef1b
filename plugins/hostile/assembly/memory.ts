// hostile-memory / hostile-no-max: keeps 1 MiB buffers alive until linear memory runs out.
// Built once with --maximumMemory (memory.grow fails at the cap and the allocator traps with
// `unreachable`) and once without it (no declared maximum: the sandbox refuses to run it).
import './abort';

const hoard = new Array<Uint8Array>();

export function run(): i32 {
  while (true) {
    const chunk = new Uint8Array(1 << 20);
    chunk[0] = 1;
    hoard.push(chunk);
  }
  return 0;
}
