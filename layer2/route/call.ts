import type { ServerConfig } from '../../shared/config/types.js';
import type { Technique } from '../decide/types.js';
import type { CallContext } from '../learn/engine.js';

/** Why an attempt on a server failed (the protocols' words mapped onto one set). */
export type AttemptFailure = 'timeout' | 'refused' | 'transport' | 'unavailable' | 'closed' | 'malformed';

/** What a routed call tells: the learning engine and the live load of the host. */
export interface CallSink {
  carried(ctx: CallContext, server: string, technique: Technique, ok: boolean, ms: number, detail: string): void;
  cost(ctx: CallContext, server: string): number;
  rtt(ctx: CallContext, ms: number): void;
  add(server: string, units: number): void;
}

/**
 * One call the router carries (proxy or local), whatever the protocol: its candidates in failover
 * order, the attempt on the current one, and what happens to it —
 *
 *   attempt ──answered──► (server took it: success, latency of this attempt)
 *      │   ──failed(why)──► failure of this server, then next() → the next candidate, or none left
 *      ▼
 *   established (capacity units taken on the server) ──ended──► units given back
 *
 * Each attempt teaches the learning once, with the time since that attempt started (an earlier
 * candidate's failure is not counted into the next one's latency).
 */
export class RoutedCall {
  readonly ctx: CallContext;
  readonly technique: Technique;
  readonly candidates: readonly ServerConfig[];
  #i = 0;
  #attemptAt: number;
  #taught = false;
  #units = 0;
  #established = false;
  lastFailure: AttemptFailure | undefined;
  readonly #sink: CallSink;
  readonly #now: () => number;

  constructor(sink: CallSink, now: () => number, ctx: CallContext, technique: Technique, candidates: readonly ServerConfig[]) {
    if (candidates.length === 0) throw new RangeError('a routed call needs a candidate');
    this.#sink = sink;
    this.#now = now;
    this.ctx = ctx;
    this.technique = technique;
    this.candidates = candidates;
    this.#attemptAt = now();
  }

  /** The server of the current attempt. */
  get server(): ServerConfig {
    return this.candidates[this.#i]!;
  }

  /** 0 for the first candidate. */
  get attempt(): number {
    return this.#i;
  }

  get established(): boolean {
    return this.#established;
  }

  /** The current attempt begins now (its latency counts from here). */
  started(): void {
    this.#attemptAt = this.#now();
    this.#taught = false;
  }

  /** The server took the call (answered, alerted, or refused it for a reason of its own). */
  answered(detail: string): void {
    if (this.#taught) return;
    this.#taught = true;
    this.#sink.carried(this.ctx, this.server.name, this.technique, true, this.#now() - this.#attemptAt, detail);
  }

  /** The server did not take the call (no answer, refused, lacks resources, a server error). */
  failed(why: AttemptFailure, detail: string): void {
    this.lastFailure = why;
    if (this.#taught) return;
    this.#taught = true;
    this.#sink.carried(this.ctx, this.server.name, this.technique, false, this.#now() - this.#attemptAt, `${why}: ${detail}`);
  }

  /** Failover: the next candidate, its attempt started; undefined when none is left. */
  next(): ServerConfig | undefined {
    if (this.#established || this.#i + 1 >= this.candidates.length) return undefined;
    this.#i++;
    this.started();
    return this.server;
  }

  /** The call is up on the current server: it holds that server's capacity units until it ends. */
  establish(): void {
    if (this.#established) return;
    this.#established = true;
    this.#units = this.#sink.cost(this.ctx, this.server.name);
    this.#sink.add(this.server.name, this.#units);
  }

  /** The call is over: its units come back. */
  end(): void {
    if (!this.#established || this.#units === 0) return;
    this.#sink.add(this.server.name, -this.#units);
    this.#units = 0;
  }

  /** A round trip timed from the client's network to this POP (SIP: 2xx sent → ACK). */
  rtt(ms: number): void {
    this.#sink.rtt(this.ctx, ms);
  }
}
