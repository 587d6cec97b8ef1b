import type { IncomingHttpHeaders } from 'node:http';
import { InvalidRequestError } from '../../errors/index.js';
import type { Routing } from '../dataplane/inference.js';
import type { SlotName } from '../control/model-slot.js';

/** Header carrying the sticky routing key of an inference request. */
export const REQUEST_KEY_HEADER = 'x-request-key';
export const MAX_REQUEST_KEY_LENGTH = 1024;
/**
 * Header forcing the slot that answers (Argo Rollouts' header routes): testers reach a canary
 * before it takes traffic, even at weight 0. Such requests are counted apart from the split.
 */
export const SLOT_HEADER = 'x-modelship-slot';

/** The routing an inference request asks for through its headers (and, for OIP, its URL's version). */
export function routingFromHeaders(headers: IncomingHttpHeaders, version?: string): Routing {
  const key = headers[REQUEST_KEY_HEADER];
  if (Array.isArray(key) || (key !== undefined && key.length > MAX_REQUEST_KEY_LENGTH)) {
    throw new InvalidRequestError(`${REQUEST_KEY_HEADER} must be one value of at most ${MAX_REQUEST_KEY_LENGTH} characters`);
  }
  const slot = headers[SLOT_HEADER];
  if (slot !== undefined && slot !== 'stable' && slot !== 'canary') {
    throw new InvalidRequestError(`${SLOT_HEADER} must be "stable" or "canary", got ${JSON.stringify(slot)}`);
  }
  return { key, slot: slot as SlotName | undefined, version };
}
