import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from './logger.js';
import type { AddressSet } from './net/address-set.js';

export interface FloodGuardOptions {
  /** Requests one source may send per second, averaged over `windowMs`; 0 turns the guard off. */
  requestsPerSecond: number;
  windowMs: number;
  /** How long a source over the rate is ignored. */
  blockMs: number;
  /** Sources never counted (configured servers, other connectors, `limits.exempt`). */
  exempt: AddressSet;
  /** Sources tracked at once; past that the oldest entry goes. */
  maxSources?: number;
}

interface Entry {
  start: number;
  count: number;
  blockedUntil: number;
}

/** The log line fail2ban matches (`"source":"<HOST>"` on the same line). */
export const FLOOD_MESSAGE = 'flood guard: source blocked';

/**
 * Pike-style flood detection for one worker process: requests are counted per source address in a
 * window of `windowMs`; a source that sends more than `requestsPerSecond × windowMs / 1000` in one
 * window is ignored (its requests dropped before parsing) for `blockMs`, logged once when it is
 * blocked, with its address, so that fail2ban can ban it at the firewall. Checking a request costs
 * one Map lookup; the table is bounded and idle entries are swept.
 */
export class FloodGuard {
  readonly #o: FloodGuardOptions;
  readonly #limit: number;
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #log: Logger;
  readonly #dropped: Counter<'protocol'>;
  readonly #blocks: Counter;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(o: FloodGuardOptions, log: Logger, registry: Registry) {
    this.#o = o;
    this.#limit = Math.max(1, Math.round((o.requestsPerSecond * o.windowMs) / 1000));
    this.#max = o.maxSources ?? 100_000;
    this.#log = log;
    const entries = this.#entries;
    this.#dropped = new Counter({ name: 'vcp_flood_dropped_total', help: 'requests ignored because their source is blocked by the flood guard, by protocol', labelNames: ['protocol'], registers: [registry] });
    this.#blocks = new Counter({ name: 'vcp_flood_blocks_total', help: 'sources blocked by the flood guard (each block once)', registers: [registry] });
    new Gauge({
      name: 'vcp_flood_blocked_sources', help: 'sources the flood guard ignores now', registers: [registry],
      collect(this: Gauge) {
        const now = Date.now();
        let n = 0;
        for (const e of entries.values()) if (e.blockedUntil > now) n++;
        this.set(n);
      },
    });
  }

  get enabled(): boolean {
    return this.#o.requestsPerSecond > 0;
  }

  /** Sources tracked now. */
  get size(): number {
    return this.#entries.size;
  }

  start(): void {
    if (!this.enabled) return;
    this.#sweeper = setInterval(() => this.sweep(Date.now()), Math.max(1000, this.#o.windowMs)).unref();
  }

  stop(): void {
    if (this.#sweeper) clearInterval(this.#sweeper);
  }

  /** One request from `source`: false when the source is (now) blocked and the request must be ignored. */
  allow(source: string, protocol: string, now = Date.now()): boolean {
    if (this.#o.requestsPerSecond <= 0) return true;
    let e = this.#entries.get(source);
    if (e === undefined) {
      if (this.#o.exempt.has(source)) return true;
      if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
      e = { start: now, count: 0, blockedUntil: 0 };
      this.#entries.set(source, e);
    }
    if (e.blockedUntil > now) {
      this.#dropped.labels(protocol).inc();
      return false;
    }
    if (now - e.start >= this.#o.windowMs) {
      e.start = now;
      e.count = 0;
    }
    if (++e.count <= this.#limit) return true;
    e.blockedUntil = now + this.#o.blockMs;
    this.#blocks.inc();
    this.#dropped.labels(protocol).inc();
    this.#log.warn({ source, protocol, requests: e.count, windowMs: this.#o.windowMs, blockMs: this.#o.blockMs }, FLOOD_MESSAGE);
    return false;
  }

  /** Drops entries whose window ended and that are not blocked. */
  sweep(now: number): void {
    for (const [k, e] of this.#entries) if (e.blockedUntil <= now && now - e.start >= this.#o.windowMs) this.#entries.delete(k);
  }
}
