const SAFE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

/** Names and versions become folder names and workflow ids, batch ids search attributes: keep them boring. */
export function assertSafeName(what: 'name' | 'version' | 'batch id', value: string): void {
  if (!SAFE.test(value) || value.includes('..')) {
    throw new Error(
      `invalid ${what === 'batch id' ? what : `model ${what}`} ${JSON.stringify(value)}: use 1-128 letters, digits, '.', '_', '+' or '-', starting with a letter or digit`,
    );
  }
}

/** One release per model version: the workflow id makes a second start of the same version a no-op. */
export function releaseIdFor(name: string, version: string): string {
  return `release-${name}-${version}`;
}
