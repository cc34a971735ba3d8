import type { ServerConfig } from '../../shared/config/types.js';
import type { CallContext } from '../learn/engine.js';
import type { SipRequest } from './message.js';
import type { Flow, Peer } from './transport.js';

/**
 * Transaction states (RFC 3261 section 17 with RFC 6026's Accepted):
 *
 *   server INVITE:  Proceeding ──2xx──► Accepted ──(timer)──► gone
 *                        └──3xx-6xx──► Completed ──ACK/timer──► gone
 *   client INVITE:  Calling ──1xx──► Proceeding ──2xx──► Accepted ──(timer)──► gone
 *                      └──────────────────└──3xx-6xx (ACK sent)──► Completed ──(timer)──► gone
 *   non-INVITE:     Trying ──1xx──► Proceeding ──final──► Completed ──(timer)──► gone
 *
 * A timeout or a transport failure before any response moves the request to the next backend.
 */
export const enum TxState {
  Trying = 0,
  Proceeding = 1,
  Completed = 2,
  Accepted = 3,
  Terminated = 4,
}

/** What the connector needs to build a CANCEL or an ACK for a request it sent. */
export interface SentRequest {
  uri: string;
  via: string;
  from: string;
  to: string;
  callId: string;
  cseq: number;
  routes: string[];
}

export interface ServerTxn {
  key: string;
  method: string;
  req: SipRequest;
  flow: Flow;
  state: TxState;
  /** The last response sent, resent when the request is retransmitted. */
  last: Buffer | undefined;
  expires: number;
  startedAt: number;
  cancelled: boolean;
  client: ClientTxn | undefined;
  /** Initial requests: the backends to try, in order, and the one being tried. */
  candidates: ServerConfig[];
  attempt: number;
  technique: string;
  /** The decision and what it was made from; undefined for in-dialog requests. */
  ctx: CallContext | undefined;
  lastFailure: 'timeout' | 'transport' | 'status' | undefined;
  /** Route values naming us at the top of an initial request, removed when it is forwarded. */
  dropRoutes: number;
}

export interface ClientTxn {
  key: string;
  branch: string;
  method: string;
  peer: Peer;
  bytes: Buffer;
  sent: SentRequest;
  server: ServerConfig | undefined;
  state: TxState;
  provisional: boolean;
  cancelSent: boolean;
  retransmitTimer: NodeJS.Timeout | undefined;
  interval: number;
  deadline: NodeJS.Timeout | undefined;
  expires: number;
  stx: ServerTxn | undefined;
}

/** Live transactions with expiry swept once a second, so finished ones cost no timer each. */
export class TransactionTable {
  readonly servers = new Map<string, ServerTxn>();
  readonly clients = new Map<string, ClientTxn>();
  #timer: NodeJS.Timeout | undefined;

  start(): void {
    this.#timer = setInterval(() => this.sweep(Date.now()), 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    for (const c of this.clients.values()) clearClientTimers(c);
  }

  get size(): number {
    return this.servers.size + this.clients.size;
  }

  sweep(now: number): void {
    for (const [k, s] of this.servers) if (s.expires <= now) this.servers.delete(k);
    for (const [k, c] of this.clients) {
      if (c.expires <= now) {
        clearClientTimers(c);
        this.clients.delete(k);
      }
    }
  }
}

export function clearClientTimers(c: ClientTxn): void {
  if (c.retransmitTimer) clearTimeout(c.retransmitTimer);
  if (c.deadline) clearTimeout(c.deadline);
  c.retransmitTimer = undefined;
  c.deadline = undefined;
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
