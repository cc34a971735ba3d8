import type { RoutedCall } from '../route/call.js';
import { buildResponse, type ResponseOptions } from './builder.js';
import type { ClientTransaction } from './client-transaction.js';
import { newTag } from './ids.js';
import type { SipRequest } from './message.js';
import { ackedLinger, serverLinger, serverRetransmit, tryingAfter, type TimerPolicy } from './timers.js';
import type { Flow } from './transport.js';

/**
 * Transaction states (RFC 3261 section 17 with RFC 6026's Accepted):
 *
 *   server INVITE:  Proceeding ──2xx──► Accepted ──(Timer L)──► gone
 *                        └──3xx-6xx──► Completed ──ACK──► Confirmed ──(Timer I)──► gone
 *                                          └──(Timer H, no ACK)──► gone
 *   client INVITE:  Calling ──1xx──► Proceeding ──2xx──► Accepted ──(Timer M)──► gone
 *                      └──────────────────└──3xx-6xx (ACK sent)──► Completed ──(Timer D)──► gone
 *   non-INVITE:     Trying ──1xx──► Proceeding ──final──► Completed ──(Timer J / K)──► gone
 *
 * The timers are in timers.ts; finished transactions carry an expiry time and are removed by one
 * sweep a second instead of one timer each.
 */
export const enum TxState {
  Trying = 0,
  Proceeding = 1,
  Completed = 2,
  Accepted = 3,
  Terminated = 4,
}

export interface ServerTxn {
  key: string;
  method: string;
  req: SipRequest;
  flow: Flow;
  /** The source address it counts against (the real client behind layer 1). */
  source: string;
  state: TxState;
  /** The last response sent, resent when the request is retransmitted (and by Timer G). */
  last: Buffer | undefined;
  expires: number;
  startedAt: number;
  cancelled: boolean;
  /** The request forwarded for it (the current attempt). */
  client: ClientTransaction | undefined;
  /** Initial requests carried to servers: the routed call (candidates, attempts, outcomes). */
  call: RoutedCall | undefined;
  technique: string;
  /** Route values naming us at the top of an initial request, removed when it is forwarded. */
  dropRoutes: number;
  /** Timer G (UDP, INVITE 3xx-6xx): the final response sent again until the ACK. */
  retransmit: NodeJS.Timeout | undefined;
  /** An INVITE's 100 Trying, due unless another response goes first (`TransactionTable.tryingLater`). */
  trying: NodeJS.Timeout | undefined;
}

/** The bounds, read when a request comes (a reload changes them in place). */
export interface TableLimits {
  /** Server transactions held at once, in every state. */
  readonly maxTransactions: number;
  /** Server transactions of one source awaiting their final response. */
  readonly maxTransactionsPerSource: number;
}

/** Why a new server transaction was not admitted. */
export type Refusal = 'global' | 'source';

/**
 * Live transactions, and the server side of them: responses sent and resent (Timer G), the linger
 * after the final one (Timers H, I, J, L). Bounded twice: all server transactions together (`max`:
 * memory), and per source the ones still awaiting a final response (`perSource`: what ties up
 * servers, timers and sockets); a request over either bound is answered statelessly (503 with
 * Retry-After) by the proxy.
 */
export class TransactionTable {
  readonly servers = new Map<string, ServerTxn>();
  readonly clients = new Map<string, ClientTransaction>();
  readonly #pending = new Map<string, number>();
  readonly #limits: TableLimits;
  readonly #policy: () => TimerPolicy;
  readonly #onFinal: (stx: ServerTxn, status: number) => void;
  #timer: NodeJS.Timeout | undefined;

  /** `onFinal`: a final response went out on a server transaction (for the call's outcome). */
  constructor(limits: TableLimits, policy: () => TimerPolicy, onFinal: (stx: ServerTxn, status: number) => void) {
    this.#limits = limits;
    this.#policy = policy;
    this.#onFinal = onFinal;
  }

  start(): void {
    this.#timer = setInterval(() => this.sweep(Date.now()), 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    for (const c of this.clients.values()) c.stop();
    for (const s of this.servers.values()) {
      if (s.retransmit) clearTimeout(s.retransmit);
      if (s.trying) clearTimeout(s.trying);
    }
  }

  get size(): number {
    return this.servers.size + this.clients.size;
  }

  /** A connection towards `peer` failed before it carried anything: its requests fail (the next candidate). */
  peerFailed(peer: { transport: string; address: string; port: number }, detail: string): void {
    for (const c of this.clients.values()) if (c.peer.address === peer.address && c.peer.port === peer.port && c.peer.transport === peer.transport) c.transportFailed(detail);
  }

  /** Server transactions that await their final response. */
  awaiting(): number {
    let n = 0;
    for (const v of this.#pending.values()) n += v;
    return n;
  }

  /** Server transactions of a source that await their final response. */
  pendingOf(source: string): number {
    return this.#pending.get(source) ?? 0;
  }

  /** Whether a new server transaction from `source` fits. */
  admit(source: string): Refusal | undefined {
    if (this.servers.size >= this.#limits.maxTransactions) return 'global';
    if ((this.#pending.get(source) ?? 0) >= this.#limits.maxTransactionsPerSource) return 'source';
    return undefined;
  }

  /** A new server transaction for `req`, counted against the source of its flow. */
  open(key: string, req: SipRequest, flow: Flow): ServerTxn {
    const stx: ServerTxn = {
      key, method: req.method, req, flow, source: flow.remoteAddress, state: TxState.Proceeding, last: undefined, expires: Number.MAX_SAFE_INTEGER,
      startedAt: Date.now(), cancelled: false, client: undefined, call: undefined, technique: 'proxy', dropRoutes: 0, retransmit: undefined, trying: undefined,
    };
    this.servers.set(key, stx);
    this.#pending.set(stx.source, (this.#pending.get(stx.source) ?? 0) + 1);
    return stx;
  }

  /** A response of our own on the server transaction (a new To tag past 100). */
  respond(stx: ServerTxn, status: number, reason: string, opts: ResponseOptions = {}): void {
    this.send(stx, buildResponse(stx.req, status, reason, { ...(status > 100 ? { toTag: newTag() } : {}), ...opts }), status);
  }

  /**
   * An INVITE's 100 Trying, sent only when no other response went out within `tryingAfter` (RFC 3261
   * section 17.2.1: the 100 is due when the TU will not answer within 200 ms). A server that answers at
   * once answers alone; and a client that has no provisional yet sends its INVITE again after T1, the
   * way that works: when the layer-1 member that relayed the request dies before it relays the answer,
   * the retransmission comes through its peer and takes the answer with it. After a 100 the client
   * sends nothing more, and an answer lost on the dead member would be lost for good.
   */
  tryingLater(stx: ServerTxn): void {
    stx.trying = setTimeout(() => this.#trying(stx), tryingAfter(this.#policy()));
  }

  /** The INVITE came again before any response: its 100 Trying goes now. */
  tryingNow(stx: ServerTxn): void {
    if (stx.trying) this.#trying(stx);
  }

  #trying(stx: ServerTxn): void {
    clearTimeout(stx.trying);
    stx.trying = undefined;
    if (stx.state === TxState.Proceeding && stx.last === undefined) this.respond(stx, 100, 'Trying');
  }

  /** Send a response on the server transaction and move it on. */
  send(stx: ServerTxn, bytes: Buffer, status: number): void {
    if (stx.trying) {
      clearTimeout(stx.trying);
      stx.trying = undefined;
    }
    stx.last = bytes;
    stx.flow.send(bytes);
    if (status < 200) return;
    this.finish(stx, status < 300 && stx.method === 'INVITE' ? TxState.Accepted : TxState.Completed);
    if (stx.method === 'INVITE' && status >= 300 && stx.flow.transport === 'udp') this.#timerG(stx, 0);
    this.#onFinal(stx, status);
  }

  /** The final response is out (or none will be sent): no longer pending for its source; gone after its linger. */
  finish(stx: ServerTxn, state: TxState): void {
    if (stx.state < TxState.Completed) this.#answered(stx);
    stx.state = state;
    stx.expires = Date.now() + serverLinger(this.#policy(), stx.method === 'INVITE', stx.flow.transport);
  }

  /** Timer I: the ACK of our 3xx-6xx; its retransmissions are absorbed a little longer. */
  acked(stx: ServerTxn): void {
    if (stx.retransmit) clearTimeout(stx.retransmit);
    stx.retransmit = undefined;
    stx.state = TxState.Terminated;
    stx.expires = Date.now() + ackedLinger(this.#policy(), stx.flow.transport);
  }

  /** Timer G: a 3xx-6xx to an INVITE over UDP is sent again until its ACK (or Timer H). */
  #timerG(stx: ServerTxn, previous: number): void {
    const interval = serverRetransmit(this.#policy(), previous);
    stx.retransmit = setTimeout(() => {
      stx.retransmit = undefined;
      if (stx.state !== TxState.Completed || Date.now() + interval > stx.expires || !stx.last) return;
      stx.flow.send(stx.last);
      this.#timerG(stx, interval);
    }, interval);
    stx.retransmit.unref();
  }

  #answered(stx: ServerTxn): void {
    const n = (this.#pending.get(stx.source) ?? 1) - 1;
    if (n > 0) this.#pending.set(stx.source, n);
    else this.#pending.delete(stx.source);
  }

  sweep(now: number): void {
    for (const [k, s] of this.servers) {
      if (s.expires > now) continue;
      if (s.retransmit) clearTimeout(s.retransmit);
      if (s.trying) clearTimeout(s.trying);
      if (s.state < TxState.Completed) this.#answered(s);
      this.servers.delete(k);
    }
    for (const [k, c] of this.clients) {
      if (c.expires <= now) {
        c.stop();
        this.clients.delete(k);
      }
    }
  }
}

/**
 * Server transaction key: RFC 3261 branch matching (plus the Call-ID, since some clients reuse branch
 * values across calls), or the RFC 2543 fields when the branch lacks the cookie.
 */
export function serverKey(req: SipRequest, method: string): string {
  const via = req.vias[0]!;
  if (via.branch.startsWith('z9hG4bK') && via.branch.length > 7) return `${via.branch}|${via.host}:${via.port}|${method}|${req.callId}`;
  return `2543|${req.callId}|${req.cseq}|${req.from.tag}|${via.text}|${method}`;
}
