// hostile-wasi: imports WASI to write to a file descriptor. The sandbox must refuse it before
// anything runs.
import './abort';

@external('wasi_snapshot_preview1', 'fd_write')
declare function fd_write(fd: u32, iovs: usize, iovsLength: u32, written: usize): u32;

export function run(): i32 {
  return i32(fd_write(1, 0, 0, 0));
}
