import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ExporterError, ExporterTimeoutError } from '../errors/index.js';
import type { ExporterSpec } from './installed-exporters.js';

export interface ExporterRun {
  readonly name: string;
  readonly spec: ExporterSpec;
  readonly input: string;
  readonly output: string;
  readonly outputDir: string;
  /** The release may shorten the worker's timeout, never lengthen it. */
  readonly timeoutSeconds?: number;
  readonly signal?: AbortSignal;
  readonly onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
  readonly onTick?: (elapsedMs: number) => void;
}

const TICK_MS = 2_000;
const KILL_GRACE_MS = 5_000;
const TAIL_LINES = 20;

/** Variables an exporter never needs to see. */
const SECRET_ENV = /^MODELSHIP_KEY_PASSPHRASE/;

export async function runExporter(run: ExporterRun): Promise<void> {
  const words = run.spec.command.map((w) =>
    w.replaceAll('{input}', run.input).replaceAll('{output}', run.output).replaceAll('{outputDir}', run.outputDir),
  );
  const [file, ...args] = words as [string, ...string[]];
  const timeoutMs = Math.min(run.timeoutSeconds ?? Infinity, run.spec.timeoutSeconds) * 1000;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SECRET_ENV.test(k)));
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env });

  const tail: string[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    createInterface({ input: child[stream] }).on('line', (line) => {
      run.onLine?.(stream, line);
      if (stream === 'stderr') {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
      }
    });
  }

  const started = Date.now();
  let ending: 'timeout' | 'cancelled' | undefined;
  const stop = (why: 'timeout' | 'cancelled') => {
    ending ??= why;
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
  };
  const ticker = setInterval(() => run.onTick?.(Date.now() - started), TICK_MS);
  const timer = setTimeout(() => stop('timeout'), timeoutMs);
  const onAbort = () => stop('cancelled');
  run.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal }));
    }).catch((err: NodeJS.ErrnoException) => {
      throw new ExporterError(`exporter ${run.name} could not start ${file}: ${err.message}`);
    });
    if (ending === 'timeout') {
      throw new ExporterTimeoutError(`exporter ${run.name} ran longer than ${timeoutMs / 1000}s and was stopped`);
    }
    if (ending === 'cancelled') run.signal?.throwIfAborted();
    if (exit.code !== 0) {
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`;
      throw new ExporterError(`exporter ${run.name} ${how}${tail.length ? `: ${tail.slice(-3).join(' | ')}` : ''}`);
    }
  } finally {
    clearInterval(ticker);
    clearTimeout(timer);
    run.signal?.removeEventListener('abort', onAbort);
  }
}
