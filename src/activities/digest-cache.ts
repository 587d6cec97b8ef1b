import { Context } from '@temporalio/activity';
import { DigestCache } from '../hashing/digest-cache.js';

/** The worker's digest cache for one activity; a discarded (unreadable) cache file is logged, not fatal. */
export async function openDigestCache(path: string): Promise<DigestCache> {
  const cache = await DigestCache.open(path);
  if (cache.discarded) Context.current().log.warn('digest cache discarded', { reason: cache.discarded });
  return cache;
}
