import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './format.js';
import { BenchFailure } from './types.js';

/** GNU time (Debian package "time"): the one RSS method used for every contender. */
export const GNU_TIME = '/usr/bin/time';

export interface Measured {
  /** Wall time from spawn to exit, measured by this process with hrtime (ms resolution or better). */
  readonly wallSeconds: number;
  /** Wall time as GNU time saw it (%e, 10 ms resolution); a cross-check only. */
  readonly timeWallSeconds: number;
  /** Peak RSS of the measured process (GNU time %M), bytes. */
  readonly maxRssBytes: number;
  /**
   * CPU time of the measured process, user + system (GNU time %U + %S, 10 ms resolution). On a
   * loaded machine wall time mostly says how much of a core the scheduler gave us; this says
   * how much work we did.
   */
  readonly cpuSeconds: number;
  readonly stdout: string;
}

/**
 * Runs `command args` under `/usr/bin/time -f '%e %M %U %S'`, so peak RSS is that process's own
 * (not this runner's) and every contender is measured the same way. GNU time writes to a file
 * (-o) so the command's own stderr cannot be mistaken for the figures. Non-zero exit is a
 * bench failure.
 */
export async function measureCommand(command: string, args: readonly string[], options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {}): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-bench-'));
  const timeFile = join(dir, 'time.txt');
  try {
    const started = process.hrtime.bigint();
    const { code, signal, stdout, stderr } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(GNU_TIME, ['-o', timeFile, '-f', '%e %M %U %S', command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(options.cwd ? { cwd: options.cwd } : {}), ...(options.env ? { env: options.env } : {}) });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => err.push(d));
        child.on('error', reject);
        child.on('close', (code, signal) =>
          resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
        );
      },
    );
    const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (code !== 0) {
      throw new BenchFailure(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || stdout.trim()}`);
    }
    // With a failing command GNU time writes a "Command exited ..." line first; the figures are last.
    const lines = (await readFile(timeFile, 'utf8')).trim().split('\n');
    const match = /^(\d+(?:\.\d+)?) (\d+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/.exec(lines[lines.length - 1] ?? '');
    if (!match) throw new BenchFailure(`cannot parse ${GNU_TIME} output: ${lines.join(' / ')}`);
    return { wallSeconds, timeWallSeconds: Number(match[1]), maxRssBytes: Number(match[2]) * 1024, cpuSeconds: Number(match[3]) + Number(match[4]), stdout };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Median wall time of `runs` sequential calls of `fn`, in seconds (in this process, performance.now). */
export async function timedMedian(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    seconds.push((performance.now() - start) / 1000);
  }
  return median(seconds);
}
