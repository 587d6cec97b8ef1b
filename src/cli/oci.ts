import { resolve } from 'node:path';
import { OciBundleStore } from '../store/oci-bundle-store.js';
import { printJson, say } from './output.js';

export interface StoreCliOptions {
  readonly plainHttp?: boolean;
  readonly json?: boolean;
}

export function storeFromCli(options: StoreCliOptions): OciBundleStore {
  return new OciBundleStore(options.plainHttp ? { plainHttp: true } : {});
}

export async function pushCommand(bundle: string, reference: string, options: StoreCliOptions): Promise<void> {
  const pushed = await storeFromCli(options).pushBundle(resolve(bundle), reference);
  if (options.json) return printJson(pushed);
  say(`pushed ${pushed.reference}`);
  for (const [part, desc] of Object.entries(pushed.parts)) say(`  referrer ${part.padEnd(10)} ${desc.digest} ${desc.artifactType ?? ''}`);
}

export async function pullCommand(reference: string, dir: string, options: StoreCliOptions & { readonly cache?: boolean }): Promise<void> {
  const pulled = await storeFromCli(options).pullBundle(reference, resolve(dir), { useCache: options.cache !== false });
  if (options.json) return printJson(pulled);
  const mib = (n: number) => (n / 1048576).toFixed(1);
  say(`pulled ${pulled.reference} into ${pulled.bundleDir} (${mib(pulled.bytesFetched)} MiB fetched, ${mib(pulled.bytesFromCache)} MiB from the local cache)`);
  for (const [part, desc] of Object.entries(pulled.parts)) say(`  referrer ${part.padEnd(10)} ${desc.digest}`);
  say(`verify it with: modelship verify ${pulled.bundleDir} --key <public key>`);
}
