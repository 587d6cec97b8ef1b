import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { createPrivateKey } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export interface HistoryEvent {
  eventType: string;
  [key: string]: unknown;
}

export async function historyJson(handle: WorkflowHandle): Promise<{ events: HistoryEvent[] }> {
  return JSON.parse(historyToJSON(await handle.fetchHistory())) as { events: HistoryEvent[] };
}

/**
 * Every string in the history, with payload `data` (base64 in history JSON) also decoded,
 * so a search sees what the payloads really carry.
 */
export function historyStrings(history: unknown): string[] {
  const out: string[] = [];
  const walk = (value: unknown, key?: string) => {
    if (typeof value === 'string') {
      out.push(value);
      if (key === 'data') out.push(Buffer.from(value, 'base64').toString('utf8'));
    } else if (Array.isArray(value)) value.forEach((v) => walk(v));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
  };
  walk(history);
  return out;
}

/** Sizes of every payload in the history, decoded. */
export function payloadSizes(history: unknown): number[] {
  const sizes: number[] = [];
  const walk = (value: unknown, key?: string) => {
    if (typeof value === 'string' && key === 'data') sizes.push(Buffer.from(value, 'base64').length);
    else if (Array.isArray(value)) value.forEach((v) => walk(v));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
  };
  walk(history);
  return sizes;
}

export function eventsOfType(history: { events: HistoryEvent[] }, type: string): HistoryEvent[] {
  return history.events.filter((e) => e.eventType === type);
}

/** The decoded results of every completed activity of the given type, in order, as history recorded them. */
export async function activityResults<T>(handle: WorkflowHandle, activityType: string): Promise<T[]> {
  const history = await handle.fetchHistory();
  const scheduled = new Map<string, string>();
  const results: T[] = [];
  for (const event of history.events ?? []) {
    const s = event.activityTaskScheduledEventAttributes;
    if (s && event.eventId) scheduled.set(String(event.eventId), s.activityType?.name ?? '');
    const c = event.activityTaskCompletedEventAttributes;
    if (c && scheduled.get(String(c.scheduledEventId)) === activityType) {
      const payload = c.result?.payloads?.[0];
      if (payload) results.push(defaultPayloadConverter.fromPayload<T>(payload));
    }
  }
  return results;
}

export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

/** Every payload in a history JSON, with its path (search attributes sit under `searchAttributes`). */
export function payloadsOf(history: unknown): Array<{ path: string; payload: JsonPayload }> {
  const out: Array<{ path: string; payload: JsonPayload }> = [];
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`));
    else if (value && typeof value === 'object') {
      const v = value as Record<string, unknown>;
      if (typeof v.metadata === 'object' && v.metadata !== null && ('data' in v || 'encoding' in (v.metadata as object))) out.push({ path, payload: v as JsonPayload });
      else for (const [k, child] of Object.entries(v)) walk(child, `${path}.${k}`);
    }
  };
  walk(history, '');
  return out;
}

/**
 * The forms an encrypted PEM signing key could leak in: the passphrase, the PEM's base64 lines,
 * the PKCS#8 DER and the raw 32-byte seed in hex, base64 and base64url.
 */
export function signingKeySecrets(pem: string, passphrase: string): string[] {
  const der = createPrivateKey({ key: pem, format: 'pem', passphrase }).export({ format: 'der', type: 'pkcs8' });
  const seed = der.subarray(der.length - 32);
  const pemBody = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  return [passphrase, seed.toString('hex'), seed.toString('base64'), seed.toString('base64url'), der.toString('base64'), ...pemBody];
}

/** The first workflow task failure's message, polling the history until one is recorded. */
export async function firstWorkflowTaskFailure(client: Client, workflowId: string, attempts = 600): Promise<string> {
  for (let i = 0; i < attempts; i++) {
    const history = JSON.parse(historyToJSON(await client.workflow.getHandle(workflowId).fetchHistory())) as {
      events: Array<{ eventType: string; workflowTaskFailedEventAttributes?: { failure?: { message?: string } } }>;
    };
    const failed = history.events.find((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_FAILED');
    if (failed) return failed.workflowTaskFailedEventAttributes?.failure?.message ?? '';
    await sleep(100);
  }
  throw new Error(`no workflow task failure recorded for ${workflowId}`);
}
