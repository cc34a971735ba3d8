import type { LearningEngine } from '../learn/engine.js';
import type { Preference } from './permute.js';
import type { ServedName } from './zone.js';

/** How long the POP order found for a resolver is reused: queries come in bursts, decisions need not. */
const KEEP_MS = 1000;
const MAX_KEPT = 10_000;

/**
 * The POP preference of a resolver, from the same decision a call from its address would get (geo of
 * the address, or the latency measured from its network when known; accessibility, health, load and
 * capacity as for calls): the POPs of the decision's candidates in their order, and the candidate
 * servers as the usable ones. Decided in explain mode (no decision log line per query) and kept briefly.
 */
export class ResolverOrder {
  readonly #engine: LearningEngine;
  readonly #kept = new Map<string, { until: number; pref: Preference }>();
  #seq = 0;

  constructor(engine: LearningEngine) {
    this.#engine = engine;
  }

  preference(source: string, client: ServedName['client'], now = Date.now()): Preference {
    const key = `${client}|${source}`;
    const k = this.#kept.get(key);
    if (k && k.until > now) return k.pref;
    const ctx = this.#engine.decide(
      { protocol: client, callId: `dns-${++this.#seq}`, identity: { protocol: client, vendor: '', product: '', version: '' }, source, domain: '', meeting: '' },
      [],
      true,
    );
    const pops: string[] = [];
    const usable = new Set<string>();
    for (const c of ctx.decision.candidates) {
      if (!pops.includes(c.pop)) pops.push(c.pop);
      usable.add(c.server);
    }
    // Connector and POP addresses stand for their POP: usable when the POP is.
    for (const p of pops) usable.add(p);
    const pref = { pops, usable };
    if (this.#kept.size >= MAX_KEPT) this.#kept.clear();
    this.#kept.set(key, { until: now + KEEP_MS, pref });
    return pref;
  }
}
