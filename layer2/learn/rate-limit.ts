/**
 * At most `perMinute` events per source address (a token bucket per address): one caller, however
 * busy or hostile, teaches the profiles (or marks servers suspect) no faster than that. The table
 * holds at most `maxSources` addresses; past that the oldest entry goes, so a flood of new
 * addresses costs one entry each and never resets the buckets of the others all at once.
 */
export class SourceRateLimit {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #max: number;

  constructor(perMinute: number, maxSources = 100_000) {
    this.#perMs = perMinute / 60_000;
    this.#burst = perMinute;
    this.#max = maxSources;
  }

  get size(): number {
    return this.#buckets.size;
  }

  allow(source: string, now: number): boolean {
    let b = this.#buckets.get(source);
    if (!b) {
      if (this.#buckets.size >= this.#max) this.#buckets.delete(this.#buckets.keys().next().value!);
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(source, b);
    } else {
      b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#perMs);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
