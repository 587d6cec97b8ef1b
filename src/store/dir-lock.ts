import { mkdir, rmdir, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransientIoError } from '../errors/index.js';

/** A lock that outlives no crash for long: a lock folder older than this is taken over. */
const STALE_MS = 30_000;
const WAIT_MS = 60_000;

/** Runs `fn` holding an exclusive lock (an mkdir'd folder: atomic on every local file system). */
export async function withDirLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    try {
      await mkdir(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lockDir).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > STALE_MS) await rmdir(lockDir).catch(() => undefined);
      else if (Date.now() > deadline) throw new TransientIoError(`${lockDir} is held by another process for over ${WAIT_MS / 1000}s`);
      else await sleep(delay);
    }
  }
  try {
    return await fn();
  } finally {
    await rmdir(lockDir).catch(() => undefined);
  }
}
