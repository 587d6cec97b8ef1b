import { createHash, randomInt } from 'node:crypto';
import type { SlotName } from '../control/model-slot.js';

/** Buckets per percent point: weights resolve to 0.01 %. */
const BUCKETS = 10_000;

/**
 * Where a request key falls in [0, 100): the first 48 bits of SHA-256(model name, NUL, key),
 * modulo 10 000, over 100. The same (model, key) always gets the same bucket, buckets are
 * uniform for distinct keys, and different models split the same keys independently.
 */
export function trafficBucket(model: string, key: string): number {
  const digest = createHash('sha256').update(model, 'utf8').update('\0').update(key, 'utf8').digest();
  return (digest.readUIntBE(0, 6) % BUCKETS) / (BUCKETS / 100);
}

/** A bucket for a request that brought no key: random, so keyless traffic splits by weight too. */
export function randomBucket(): number {
  return randomInt(0, BUCKETS) / (BUCKETS / 100);
}

/**
 * The canary answers a bucket below the canary weight (when a canary is loaded); the stable
 * slot answers the rest. Raising the weight only moves keys from stable to canary, never back,
 * so a key sticks to the canary as a rollout widens.
 */
export function chooseSlot(bucket: number, canaryWeight: number, canaryLoaded: boolean): SlotName {
  return canaryLoaded && bucket < canaryWeight ? 'canary' : 'stable';
}
