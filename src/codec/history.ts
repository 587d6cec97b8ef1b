import type { Payload, PayloadCodec } from '@temporalio/common';
import { isEncrypted } from './encryption-codec.js';

/**
 * Decodes, in place, every encrypted payload anywhere in a fetched history (or a describe's raw
 * answer). `fetchHistory` returns the server's bytes untouched, and the report reads payloads
 * with the plain payload converter, so the CLI runs them through its codec first.
 */
export async function decodeEncryptedPayloads<T>(value: T, codec: PayloadCodec): Promise<T> {
  const found: Array<{ holder: Record<string, unknown> | unknown[]; key: string | number; payload: Payload }> = [];
  const seen = new Set<unknown>();
  const visit = (holder: Record<string, unknown> | unknown[], key: string | number, node: unknown): void => {
    if (node === null || typeof node !== 'object' || ArrayBuffer.isView(node) || seen.has(node)) return;
    seen.add(node);
    if (isPayloadLike(node) && isEncrypted(node)) {
      found.push({ holder, key, payload: node });
      return;
    }
    if (Array.isArray(node)) node.forEach((child, i) => visit(node, i, child));
    else for (const [k, child] of Object.entries(node)) visit(node as Record<string, unknown>, k, child);
  };
  const top = { root: value };
  visit(top, 'root', value);
  if (found.length === 0) return value;
  const decoded = await codec.decode(found.map((f) => f.payload));
  found.forEach((f, i) => {
    (f.holder as Record<string | number, unknown>)[f.key] = decoded[i];
  });
  return top.root;
}

function isPayloadLike(node: object): node is Payload {
  const metadata = (node as { metadata?: unknown }).metadata;
  return typeof metadata === 'object' && metadata !== null && 'data' in node;
}
