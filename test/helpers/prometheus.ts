// Reads Prometheus text exposition for assertions: samples by name and a subset of labels.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export class Scrape {
  readonly samples: readonly Sample[];
  constructor(readonly text: string) {
    this.samples = text.split('\n').flatMap((line) => {
      if (line === '' || line.startsWith('#')) return [];
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
      if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
      return [{ name: m[1]!, labels, value: Number(m[3]) }];
    });
  }

  /** Samples of `name` carrying every label in `labels`. */
  find(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  /** The one sample of `name` with these labels; fails when there is none or more than one. */
  value(name: string, labels: Record<string, string> = {}): number {
    const found = this.find(name, labels);
    if (found.length !== 1) throw new Error(`expected one ${name}${JSON.stringify(labels)}, found ${found.length}`);
    return found[0]!.value;
  }

  /** Metric names in the scrape (families with their _bucket/_sum/_count suffixes as written). */
  names(): Set<string> {
    return new Set(this.samples.map((s) => s.name));
  }
}

export async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return new Scrape(await response.text());
}
