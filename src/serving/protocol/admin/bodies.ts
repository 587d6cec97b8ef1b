import { isAbsolute, resolve } from 'node:path';
import { InvalidRequestError, errorMessage } from '../../../errors/index.js';
import { looksLikeReference, parseReference } from '../../../oci/reference.js';
import type { DeployTarget } from '../../control/deploy-target.js';
import { parseJson } from '../../http/body.js';

// The admin API's bodies, checked here so the catalog's methods take typed values only.

function jsonObject(body: Buffer): Record<string, unknown> {
  const value = parseJson(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidRequestError('the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** `PUT …/slots/{slot}`: exactly one of `reference` (pinned by digest) and `bundleDir` (absolute). */
export function parseDeployBody(body: Buffer): DeployTarget {
  const { reference, bundleDir } = jsonObject(body);
  if (reference !== undefined && bundleDir !== undefined) throw new InvalidRequestError('name either reference or bundleDir, not both');
  if (reference !== undefined) {
    if (typeof reference !== 'string' || !looksLikeReference(reference)) throw new InvalidRequestError(`reference must be a store reference like host/repo:tag@sha256:…, got ${JSON.stringify(reference)}`);
    let parsed;
    try {
      parsed = parseReference(reference);
    } catch (err) {
      throw new InvalidRequestError(errorMessage(err));
    }
    if (!parsed.digest) throw new InvalidRequestError(`reference ${reference} must be pinned by digest (…@sha256:<hex>): a tag may move`);
    return { reference };
  }
  if (typeof bundleDir !== 'string' || !isAbsolute(bundleDir)) {
    throw new InvalidRequestError(`deploy needs reference (host/repo:tag@sha256:…) or bundleDir (an absolute path on the serving host), got ${JSON.stringify(bundleDir)}`);
  }
  return { bundleDir: resolve(bundleDir) };
}

/** `PUT …/weight`: `{ canaryWeight: 0-100 }`. */
export function parseWeightBody(body: Buffer): number {
  const weight = jsonObject(body).canaryWeight;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 100) {
    throw new InvalidRequestError(`canaryWeight must be a number from 0 to 100, got ${JSON.stringify(weight)}`);
  }
  return weight;
}

/** `PUT …/shadow`: `{ enabled: boolean }`. */
export function parseShadowBody(body: Buffer): boolean {
  const enabled = jsonObject(body).enabled;
  if (typeof enabled !== 'boolean') throw new InvalidRequestError(`enabled must be true or false, got ${JSON.stringify(enabled)}`);
  return enabled;
}

/** `?since=` of the observations route: unix milliseconds, default 0. */
export function parseSince(query: URLSearchParams): number {
  const text = query.get('since') ?? '0';
  if (!/^\d{1,16}$/.test(text)) throw new InvalidRequestError(`since must be unix milliseconds, got ${JSON.stringify(text)}`);
  return Number(text);
}
