// The abort handler every plugin here is built with (`--use abort=assembly/abort/pluginAbort`):
// AssemblyScript calls `abort` on a failed assertion or a thrown Error. We report the message to
// the host through Extism's error_set, then trap, so the host sees why the plugin stopped.
import { Memory } from '@extism/as-pdk';
import { error_set } from '@extism/as-pdk/lib/env';

export function pluginAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const text =
    'abort: ' +
    (message !== null ? message : '(no message)') +
    ' at ' +
    (fileName !== null ? fileName : '?') +
    ':' +
    line.toString() +
    ':' +
    column.toString();
  const mem = Memory.allocateString(text);
  error_set(mem.offset);
  unreachable();
}
