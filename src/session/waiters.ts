/** Callers waiting for one thing to happen; each gives up on its own after its timeout. */
export class Waiters<T> {
  private readonly waiting = new Set<(value: T) => void>();

  /** Resolves with what `resolveAll` gives, or with `onTimeout` after `timeoutMs`. */
  wait(timeoutMs: number, onTimeout: T): Promise<T> {
    return new Promise((resolve) => {
      const done = (value: T) => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve(value);
      };
      const timer = setTimeout(() => done(onTimeout), Math.max(0, timeoutMs));
      this.waiting.add(done);
    });
  }

  resolveAll(value: T): void {
    for (const done of [...this.waiting]) done(value);
  }
}
