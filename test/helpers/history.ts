import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';

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
