// Value tables with lexical scoping: a graph's values live in its Scope; a subgraph's Scope
// reads through to the scopes enclosing it. Every entry is counted per data buffer (one
// BufferRefs per run, shared by all scopes), so a buffer goes back to the pool only when no
// scope at any depth holds it any more.
import { Tensor, releaseBuffer } from "./tensor";
import { OptionalValue, SequenceValue } from "./values";

/** How many value-table entries (and holds) use each data buffer. */
export class BufferRefs {
  counts: Map<usize, i32> = new Map<usize, i32>();

  add(t: Tensor): void {
    if (t instanceof SequenceValue) {
      const items = (<SequenceValue>t).items;
      for (let i = 0; i < items.length; i++) this.add(unchecked(items[i]));
      return;
    }
    if (t instanceof OptionalValue) {
      const v = (<OptionalValue>t).value;
      if (v !== null) this.add(v);
      return;
    }
    const p = changetype<usize>(t.data);
    this.counts.set(p, this.counts.has(p) ? this.counts.get(p) + 1 : 1);
  }

  /** Drops one use; at zero the buffer goes back to the pool. */
  drop(t: Tensor): void {
    if (t instanceof SequenceValue) {
      const items = (<SequenceValue>t).items;
      for (let i = 0; i < items.length; i++) this.drop(unchecked(items[i]));
      return;
    }
    if (t instanceof OptionalValue) {
      const v = (<OptionalValue>t).value;
      if (v !== null) this.drop(v);
      return;
    }
    const p = changetype<usize>(t.data);
    if (!this.counts.has(p)) return;
    const n = this.counts.get(p) - 1;
    if (n > 0) {
      this.counts.set(p, n);
      return;
    }
    this.counts.delete(p);
    releaseBuffer(t.data);
  }
}

export class Scope {
  values: Map<string, Tensor> = new Map<string, Tensor>();
  parent: Scope | null;
  refs: BufferRefs;
  /** Holds to drop once the running node's outputs are in the table (see deferDrop). */
  private deferred: Array<Tensor> = new Array<Tensor>();

  constructor(parent: Scope | null, refs: BufferRefs) {
    this.parent = parent;
    this.refs = refs;
  }

  /** The innermost value of that name, or null. */
  lookup(name: string): Tensor | null {
    let s: Scope | null = this;
    while (s !== null) {
      if (s.values.has(name)) return s.values.get(name);
      s = s.parent;
    }
    return null;
  }

  hasOwn(name: string): bool {
    return this.values.has(name);
  }

  set(name: string, t: Tensor): void {
    this.values.set(name, t);
    this.refs.add(t);
  }

  /** Removes an own value after its last use. */
  remove(name: string): void {
    if (!this.values.has(name)) return;
    this.refs.drop(this.values.get(name));
    this.values.delete(name);
  }

  /** Removes every own value (the scope is done). */
  clear(): void {
    const names = this.values.keys();
    for (let i = 0; i < names.length; i++) this.refs.drop(this.values.get(unchecked(names[i])));
    this.values.clear();
  }

  /** Keeps t's buffer out of the pool until drop(t) or deferDrop(t) releases it. */
  hold(t: Tensor): void {
    this.refs.add(t);
  }

  drop(t: Tensor): void {
    this.refs.drop(t);
  }

  /**
   * Releases a hold once the current node's outputs are registered: a control-flow node's
   * outputs come from its subgraph, held until this scope counts them itself.
   */
  deferDrop(t: Tensor): void {
    this.deferred.push(t);
  }

  dropDeferred(): void {
    for (let i = 0; i < this.deferred.length; i++) this.refs.drop(unchecked(this.deferred[i]));
    this.deferred.length = 0;
  }
}
