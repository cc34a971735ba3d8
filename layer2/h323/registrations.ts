import type { ClientIdentity } from '../identify.js';
import { aliasToText, type AliasAddress, type TransportAddress } from './h225.js';

/** One endpoint registered over RAS with this worker. */
export interface Registration {
  endpointId: string;
  aliases: AliasAddress[];
  /** Where the endpoint takes calls (from its RRQ). */
  callSignal: TransportAddress[];
  /** Where its RAS messages come from (behind layer 1: the endpoint itself, from PROXY v2). */
  rasAddress: string;
  rasPort: number;
  identity: ClientIdentity;
  expires: number;
}

/** Aliases compare by type and case-insensitive value (`h323-ID:room 12`, `dialledDigits:8001`). */
export const aliasKey = (a: AliasAddress): string => {
  const t = aliasToText(a);
  return `${t.type}:${t.value.toLowerCase()}`;
};

/**
 * The registration table of one worker: endpoint identifier → registration, alias → registration,
 * each entry living `timeToLive` seconds after its last RRQ. Bounded: when full, new endpoints are
 * refused rather than old ones evicted.
 */
export class RegistrationTable {
  readonly #byId = new Map<string, Registration>();
  readonly #byAlias = new Map<string, Registration>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#byId.size;
  }

  get full(): boolean {
    return this.#byId.size >= this.#max;
  }

  /** Add or replace; an alias another endpoint held moves to this one. */
  add(r: Registration): void {
    this.remove(r.endpointId);
    this.#byId.set(r.endpointId, r);
    for (const a of r.aliases) {
      const k = aliasKey(a);
      const prev = this.#byAlias.get(k);
      if (prev && prev !== r) prev.aliases = prev.aliases.filter((x) => aliasKey(x) !== k);
      this.#byAlias.set(k, r);
    }
  }

  byId(id: string, now: number): Registration | undefined {
    const r = this.#byId.get(id);
    return r && r.expires > now ? r : undefined;
  }

  byAlias(a: AliasAddress, now: number): Registration | undefined {
    const r = this.#byAlias.get(aliasKey(a));
    return r && r.expires > now ? r : undefined;
  }

  remove(id: string): boolean {
    const r = this.#byId.get(id);
    if (!r) return false;
    this.#byId.delete(id);
    for (const a of r.aliases) {
      const k = aliasKey(a);
      if (this.#byAlias.get(k) === r) this.#byAlias.delete(k);
    }
    return true;
  }

  /** Drop the registrations whose time to live has passed. */
  sweep(now: number): number {
    let n = 0;
    for (const r of [...this.#byId.values()]) {
      if (r.expires <= now) {
        this.remove(r.endpointId);
        n++;
      }
    }
    return n;
  }
}
