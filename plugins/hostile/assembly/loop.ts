// hostile-loop: never returns. Only the host's deadline can stop it.
import './abort';

let spins: u64 = 0;

export function run(): i32 {
  while (true) {
    spins++;
  }
  return 0;
}
