import type { Client } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { SearchAttributeConflictError, SearchAttributeRegistrationError } from '../errors/index.js';
import { releaseSearchAttributes } from '../search-attributes.js';
import { connectClient } from './client.js';
import { describeError, printJson, say } from './output.js';

/** temporal.api.enums.v1.IndexedValueType: the numbers the operator service speaks. */
const INDEXED_VALUE_TYPE: Record<SearchAttributeType, number> = { TEXT: 1, KEYWORD: 2, INT: 3, DOUBLE: 4, BOOL: 5, DATETIME: 6, KEYWORD_LIST: 7 };
/** How Temporal names the types (temporal/search-attributes.txt, `temporal operator search-attribute`). */
const TYPE_NAME: Record<SearchAttributeType, string> = { TEXT: 'Text', KEYWORD: 'Keyword', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' };
const typeOfIndexed = (n: number): SearchAttributeType | undefined => (Object.keys(INDEXED_VALUE_TYPE) as SearchAttributeType[]).find((t) => INDEXED_VALUE_TYPE[t] === n);

export interface WantedAttribute {
  readonly name: string;
  readonly type: SearchAttributeType;
}

export interface NamespaceSetup {
  readonly namespace: string;
  readonly added: WantedAttribute[];
  readonly present: WantedAttribute[];
}

/** The search attributes modelship's workflows upsert and `modelship list` filters on. */
export const MODELSHIP_SEARCH_ATTRIBUTES: readonly WantedAttribute[] = releaseSearchAttributes.map((key) => ({ name: key.name, type: key.type }));

/**
 * Registers `wanted` on `namespace` through the operator service, idempotently: attributes
 * already there with the right type are left alone, a name taken with another type is a
 * SearchAttributeConflictError (nothing is added then). Once it added any, waits until the
 * namespace's visibility accepts a query on each (a frontend learns new attributes through its
 * namespace cache, seconds later), so a release started right after can use them.
 */
export async function setupNamespace(client: Client, namespace: string, wanted: readonly WantedAttribute[] = MODELSHIP_SEARCH_ATTRIBUTES, readyTimeoutMs = 60_000): Promise<NamespaceSetup> {
  const operator = client.connection.operatorService;
  let custom: Record<string, number>;
  try {
    custom = (await operator.listSearchAttributes({ namespace })).customAttributes as Record<string, number>;
  } catch (err) {
    throw new SearchAttributeRegistrationError(`cannot list the search attributes of namespace ${namespace}: ${describeError(err)}`, { cause: err });
  }
  const added: WantedAttribute[] = [];
  const present: WantedAttribute[] = [];
  const conflicts: string[] = [];
  for (const attribute of wanted) {
    const existing = custom[attribute.name];
    if (existing === undefined) added.push(attribute);
    else if (existing === INDEXED_VALUE_TYPE[attribute.type]) present.push(attribute);
    else {
      const has = typeOfIndexed(existing);
      conflicts.push(`${attribute.name} is ${has ? TYPE_NAME[has] : `type ${existing}`}, modelship needs ${TYPE_NAME[attribute.type]}`);
    }
  }
  if (conflicts.length) {
    throw new SearchAttributeConflictError(
      `namespace ${namespace} has search attributes of modelship's names with other types: ${conflicts.join('; ')}. ` +
        `Remove them (temporal operator search-attribute remove) or use another namespace`,
    );
  }
  if (added.length) {
    try {
      await operator.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(added.map((a) => [a.name, INDEXED_VALUE_TYPE[a.type]])) as never,
      });
    } catch (err) {
      throw new SearchAttributeRegistrationError(`cannot add search attributes ${added.map((a) => a.name).join(', ')} to namespace ${namespace}: ${describeError(err)}`, { cause: err });
    }
    await waitUntilQueryable(client, added, readyTimeoutMs);
  }
  return { namespace, added, present };
}

/** Polls a visibility query naming every attribute until the frontend accepts it. */
async function waitUntilQueryable(client: Client, attributes: readonly WantedAttribute[], timeoutMs: number): Promise<void> {
  const query = attributes.map((a) => `${a.name} IS NULL`).join(' AND ');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.workflow.count(query);
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new SearchAttributeRegistrationError(`added search attributes, but namespace ${client.options.namespace} still refuses a query on them after ${timeoutMs / 1000}s: ${describeError(err)}`, { cause: err });
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

export function describeAttribute(a: WantedAttribute): string {
  return `${a.name} (${TYPE_NAME[a.type]})`;
}

/** `modelship setup-namespace`: registers modelship's search attributes on the configured namespace. */
export async function setupNamespaceCommand(options: { json?: boolean }): Promise<void> {
  const { client, settings, close } = await connectClient();
  let result: NamespaceSetup;
  try {
    result = await setupNamespace(client, settings.namespace);
  } finally {
    await close();
  }
  if (options.json) {
    return printJson({
      namespace: result.namespace,
      address: settings.connectionOptions.address,
      added: result.added.map((a) => ({ name: a.name, type: TYPE_NAME[a.type] })),
      alreadyPresent: result.present.map((a) => ({ name: a.name, type: TYPE_NAME[a.type] })),
    });
  }
  say(`namespace ${result.namespace} at ${settings.connectionOptions.address}`);
  for (const a of result.added) say(`added ${describeAttribute(a)}`);
  for (const a of result.present) say(`already present: ${describeAttribute(a)}`);
  say(result.added.length ? `${result.added.length} search attribute(s) added, ${result.present.length} already present` : 'nothing changed: every search attribute is already present');
}
