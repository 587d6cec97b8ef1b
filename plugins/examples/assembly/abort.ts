// Routes AssemblyScript's abort (a thrown Error, a failed assertion) to Extism's error_set,
// so the host sees the reason, then traps.
import { Memory } from '@extism/as-pdk';
import { error_set } from '@extism/as-pdk/lib/env';

export function pluginAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const text = 'abort: ' + (message !== null ? message : '(no message)') + ' at ' + (fileName !== null ? fileName : '?') + ':' + line.toString() + ':' + column.toString();
  error_set(Memory.allocateString(text).offset);
  unreachable();
}
