/** A FIFO async lock: `run` calls execute one at a time, in call order. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let unlock!: () => void;
    this.tail = new Promise<void>((resolve) => (unlock = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      unlock();
    }
  }
}

/** One Mutex per key, created on first use (keys are model names: a small, admin-chosen set). */
export class KeyedMutex {
  private readonly locks = new Map<string, Mutex>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let lock = this.locks.get(key);
    if (!lock) this.locks.set(key, (lock = new Mutex()));
    return lock.run(fn);
  }
}
