import type { AddressSet } from './address-set.js';

export type Admission = 'ok' | 'full' | 'source-full';

/**
 * Open connections against a global cap and a cap per source address, so that one source cannot
 * take the whole table: `take` before keeping a connection, `release` once it closes. Sources in
 * `exempt` count towards the global cap only. The per-source counts hold only sources with open
 * connections, so the map is bounded by the global cap.
 */
export class ConnectionLimiter {
  readonly #bySource = new Map<string, number>();
  readonly #max: number;
  readonly #perSource: number;
  readonly #exempt: AddressSet | undefined;
  #active = 0;

  constructor(max: number, maxPerSource: number, exempt?: AddressSet) {
    this.#max = max;
    this.#perSource = maxPerSource;
    this.#exempt = exempt;
  }

  get active(): number {
    return this.#active;
  }

  /** Sources holding at least one connection. */
  get sources(): number {
    return this.#bySource.size;
  }

  of(source: string): number {
    return this.#bySource.get(source) ?? 0;
  }

  take(source: string): Admission {
    if (this.#active >= this.#max) return 'full';
    const n = this.#bySource.get(source) ?? 0;
    if (n >= this.#perSource && !this.#exempt?.has(source)) return 'source-full';
    this.#bySource.set(source, n + 1);
    this.#active++;
    return 'ok';
  }

  release(source: string): void {
    const n = this.#bySource.get(source);
    if (n === undefined) return;
    if (n > 1) this.#bySource.set(source, n - 1);
    else this.#bySource.delete(source);
    this.#active--;
  }
}
