/**
 * At most `perMinute` learning outcomes per source address (a token bucket per address, bounded in
 * size): one caller, however busy or hostile, teaches the profiles no faster than that.
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

  allow(source: string, now: number): boolean {
    let b = this.#buckets.get(source);
    if (!b) {
      if (this.#buckets.size >= this.#max) this.#buckets.clear();
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
