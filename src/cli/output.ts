/** The CLI's own output: results to stdout, problems to stderr. Logs go through pino elsewhere. */
export function say(line = ''): void {
  process.stdout.write(line + '\n');
}

export function warn(line: string): void {
  process.stderr.write(line + '\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A failure the CLI reports in one line and turns into a non-zero exit. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * With --json a failure is JSON on stdout too, so a script reads one document whatever
 * happened: `{ "error": { "type", "message", "exitCode" } }`; the exit code stays non-zero.
 */
export function printJsonError(type: string, message: string, exitCode: number): void {
  printJson({ error: { type, message, exitCode } });
}

/** --json anywhere on the command line (before parsing, so usage errors are JSON too). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

export function seconds(fromIso: string, toIso: string): string {
  return `${((Date.parse(toIso) - Date.parse(fromIso)) / 1000).toFixed(1)}s`;
}

/**
 * An unexpected error as one line: its message and each cause's ("Failed to start Workflow:
 * 3 INVALID_ARGUMENT: ..."), so the reason a server gave is not lost behind a generic wrapper.
 * The stack only with MODELSHIP_DEBUG set.
 */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (message && !parts.some((p) => p.includes(message))) parts.push(message);
  }
  const line = parts.join(': ') || String(err);
  return process.env.MODELSHIP_DEBUG && err instanceof Error && err.stack ? `${line}\n${err.stack}` : line;
}
