/**
 * One generation at a time on the replica's one model, and at most `maxWaiting` more in line, in
 * arrival order. llama.cpp's threads spin while they work: two generations side by side on a
 * small machine are slower in total than one after the other, so the model is never shared.
 */
export class GenerationQueue {
  private readonly maxWaiting: number;
  private busy = false;
  private readonly waiting: { go: () => void; signal: AbortSignal; gone: () => void }[] = [];

  constructor(maxWaiting: number) {
    this.maxWaiting = maxWaiting;
  }

  /** Generations waiting now, beside the running one. */
  get depth(): number {
    return this.waiting.length;
  }

  /**
   * Waits for the model and returns the function that hands it on; undefined at once when the
   * line is full. A caller that goes away while waiting leaves the line (the promise rejects with
   * the signal's reason).
   */
  enter(signal: AbortSignal): Promise<() => void> | undefined {
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxWaiting) return undefined;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const entry = {
        signal,
        go: () => {
          signal.removeEventListener("abort", entry.gone);
          resolve(this.releaser());
        },
        gone: () => {
          this.waiting.splice(this.waiting.indexOf(entry), 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener("abort", entry.gone, { once: true });
      this.waiting.push(entry);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next.go();
      else this.busy = false;
    };
  }
}
