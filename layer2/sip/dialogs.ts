import type { RoutedCall } from '../route/call.js';
import type { Peer } from './transport.js';

/**
 * How long an answered call waits for its ACK (64·T1, RFC 3261 13.3.1.4): for a round-trip sample, and
 * as the call's life when none comes (the 2xx never reached the client, or it gave up: the server ends
 * such a call itself), so that a lost answer does not hold capacity for `maxCallMs`.
 */
export const ACK_WAIT_MS = 32_000;
/** Calls one worker tracks at most (capacity units and in-dialog routing). */
const MAX_DIALOGS = 1_000_000;

export interface Dialog {
  call: RoutedCall;
  server: Peer;
  /** The client's flow key (where the server's requests of this dialog go). */
  clientFlow: string;
  at: number;
}

/**
 * The calls this worker carried to an answer, by Call-ID: their capacity units (held until the BYE
 * is answered, or `maxCallMs` when the end went another way), where their in-dialog requests go, and
 * the 2xx awaiting the ACK that times the round trip from the client's network.
 */
export class Dialogs {
  readonly #dialogs = new Map<string, Dialog>();
  readonly #awaitingAck = new Map<string, { call: RoutedCall; sentAt: number }>();
  readonly #sip: { readonly maxCallMs: number };
  #timer: NodeJS.Timeout | undefined;
  /** Answered calls ended because their ACK never came (`vcp_sip_calls_unacked_total`). */
  unacked = 0;

  /** `sip.maxCallMs` is read at each sweep (a reload changes it in place). */
  constructor(sip: { readonly maxCallMs: number }) {
    this.#sip = sip;
  }

  start(): void {
    this.#timer = setInterval(() => this.sweep(Date.now()), 5000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  get size(): number {
    return this.#dialogs.size;
  }

  get(callId: string): Dialog | undefined {
    return this.#dialogs.get(callId);
  }

  /** A 2xx to an INVITE went to the client: the call holds its units, and its ACK is awaited. */
  answered(callId: string, call: RoutedCall, server: Peer, clientFlow: string, now: number): void {
    this.#awaitingAck.set(callId, { call, sentAt: now });
    if (this.#dialogs.has(callId) || this.#dialogs.size >= MAX_DIALOGS) return;
    call.establish();
    this.#dialogs.set(callId, { call, server, clientFlow, at: now });
  }

  /** An ACK for a 2xx: the round trip from the client's network, once per call. */
  acked(callId: string, now: number): void {
    const w = this.#awaitingAck.get(callId);
    if (!w) return;
    this.#awaitingAck.delete(callId);
    w.call.rtt(now - w.sentAt);
  }

  ended(callId: string): void {
    const d = this.#dialogs.get(callId);
    if (!d) return;
    this.#dialogs.delete(callId);
    d.call.end();
  }

  sweep(now: number): void {
    for (const [k, v] of this.#awaitingAck) {
      if (v.sentAt >= now - ACK_WAIT_MS) continue;
      this.#awaitingAck.delete(k);
      if (this.#dialogs.get(k)?.call === v.call) {
        this.unacked++;
        this.ended(k);
      }
    }
    for (const [k, d] of this.#dialogs) if (d.at < now - this.#sip.maxCallMs) this.ended(k);
  }
}
