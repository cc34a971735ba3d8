import { randomBytes } from 'node:crypto';
import type { ClientIdentity } from '../identify.js';
import { aliasToText, type AliasAddress, type TransportAddress } from './h225.js';

/** One endpoint registered over RAS with this worker. */
export interface Registration {
  endpointId: string;
  aliases: AliasAddress[];
  /** Where the endpoint takes calls (from its RRQ). */
  callSignal: TransportAddress[];
  /**
   * Where its RAS messages come from (behind layer 1: the endpoint itself, from PROXY v2). The
   * registration belongs to this address: keep-alives, URQ and ARQ are taken from it only.
   */
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
 * An endpoint identifier nobody can guess: the worker's id, then 96 random bits. (Real endpoints
 * sometimes pad the identifier with NULs in later messages: `trimId` before comparing.)
 */
export const newEndpointId = (workerId: string): string => `${workerId}-${randomBytes(12).toString('hex')}`;

export const trimId = (id: string): string => id.replace(/[\0 ]+$/, '');

/**
 * The registration table of one worker: endpoint identifier → registration, alias → registration,
 * and the number of live registrations per RAS source address; each entry lives `timeToLive` seconds
 * after its last RRQ. Every operation costs the number of aliases it touches (no scan of the other
 * registrations), and each registration's aliases are indexed and removed once. Bounded globally and
 * per source: when full, new endpoints are refused rather than old ones evicted.
 */
export class RegistrationTable {
  readonly #byId = new Map<string, Registration>();
  readonly #byAlias = new Map<string, Registration>();
  readonly #bySource = new Map<string, number>();
  readonly #max: number;
  readonly #maxPerSource: number;

  constructor(max: number, maxPerSource = max) {
    this.#max = max;
    this.#maxPerSource = maxPerSource;
  }

  get size(): number {
    return this.#byId.size;
  }

  get full(): boolean {
    return this.#byId.size >= this.#max;
  }

  /** The source address holds its share of the table. */
  sourceFull(address: string): boolean {
    return (this.#bySource.get(address) ?? 0) >= this.#maxPerSource;
  }

  /** Sources with at least one registration. */
  get sources(): number {
    return this.#bySource.size;
  }

  /**
   * The aliases of `aliases` that a live registration from another source address holds (they are
   * refused: duplicateAlias); `except` is the registration being renewed.
   */
  conflicts(aliases: readonly AliasAddress[], source: string, now: number, except?: string): AliasAddress[] {
    const out: AliasAddress[] = [];
    for (const a of aliases) {
      const r = this.#byAlias.get(aliasKey(a));
      if (r && r.endpointId !== except && r.expires > now && r.rasAddress !== source) out.push(a);
    }
    return out;
  }

  /**
   * Add or replace (same endpoint identifier). A registration that held one of its aliases goes
   * whole: it has expired, or it is an earlier registration of the same source (an endpoint that
   * restarted). Callers refuse aliases held live by another source first (`conflicts`).
   */
  add(r: Registration): void {
    this.remove(r.endpointId);
    for (const a of r.aliases) {
      const prev = this.#byAlias.get(aliasKey(a));
      if (prev && prev !== r) this.remove(prev.endpointId);
    }
    this.#byId.set(r.endpointId, r);
    this.#bySource.set(r.rasAddress, (this.#bySource.get(r.rasAddress) ?? 0) + 1);
    for (const a of r.aliases) this.#byAlias.set(aliasKey(a), r);
  }

  byId(id: string, now: number): Registration | undefined {
    const r = this.#byId.get(trimId(id));
    return r && r.expires > now ? r : undefined;
  }

  byAlias(a: AliasAddress, now: number): Registration | undefined {
    const r = this.#byAlias.get(aliasKey(a));
    return r && r.expires > now ? r : undefined;
  }

  remove(id: string): boolean {
    const r = this.#byId.get(trimId(id));
    if (!r) return false;
    this.#byId.delete(r.endpointId);
    const n = (this.#bySource.get(r.rasAddress) ?? 1) - 1;
    if (n > 0) this.#bySource.set(r.rasAddress, n);
    else this.#bySource.delete(r.rasAddress);
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
