import { buildCancelOrAck, buildForwardedRequest, rawLines } from './builder.js';
import { H } from './headers.js';
import { newBranch } from './ids.js';
import type { SipMessage, SipRequest, SipResponse } from './message.js';
import { clientLinger, clientRetransmit, TIMER_C_MS, type TimerPolicy } from './timers.js';
import { TxState } from './transaction.js';
import type { Flow, Peer } from './transport.js';
import { formatHostPort } from './uri.js';
import { splitList } from './values.js';

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

export interface ClientOptions {
  /** The request to forward, and the edits: a new Request-URI, lines on top (Record-Route), our Routes to drop. */
  req: SipRequest;
  uri?: string;
  top?: readonly string[];
  dropRoutes: number;
  /** Where it goes, and how bytes get there (a kept connection or socket, or the client's flow). */
  peer: Peer;
  send: (bytes: Buffer) => void;
  /** The address our Via names: where the peer sends its responses. */
  sentBy: { address: string; port: number };
  /** Timer B/F: no final response by then is a timeout. */
  timeoutMs: number;
  policy: TimerPolicy;
  onFailed: (c: ClientTransaction, why: 'timeout' | 'transport', detail: string) => void;
}

/** What a response meant to its transaction. */
export type Received = 'provisional' | 'final' | 'final-again' | 'late';

/**
 * One request the connector sends (forwarded towards a server or a client), with the one RFC 3261
 * timer policy of timers.ts: retransmissions over UDP, the deadline, Timer C once an INVITE rang,
 * the linger after the final response. Its Via is built here, once, with a branch of 96 random bits;
 * a non-2xx final to an INVITE is acknowledged here, hop by hop. A response counts only when it comes
 * from the transport, address and port the request went to.
 */
export class ClientTransaction {
  readonly key: string;
  readonly branch: string;
  readonly method: string;
  readonly peer: Peer;
  readonly sent: SentRequest;
  state = TxState.Trying;
  provisional = false;
  expires = Number.MAX_SAFE_INTEGER;
  #cancel: 'no' | 'wanted' | 'sent' = 'no';
  readonly #bytes: Buffer;
  readonly #send: (bytes: Buffer) => void;
  readonly #o: ClientOptions;
  #interval = 0;
  #retransmit: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;
  /** Timers that fired, waiting for the I/O already queued to be read (see `#afterIo`). */
  readonly #due: { retransmit: NodeJS.Immediate | undefined; deadline: NodeJS.Immediate | undefined } = { retransmit: undefined, deadline: undefined };

  constructor(o: ClientOptions) {
    const req = o.req;
    this.#o = o;
    this.method = req.method;
    this.peer = o.peer;
    this.#send = o.send;
    const out = outgoing(req, { ...(o.uri !== undefined ? { uri: o.uri } : {}), top: o.top ?? [], dropRoutes: o.dropRoutes, transport: o.peer.transport, sentBy: o.sentBy });
    this.branch = out.branch;
    this.key = `${this.branch}|${req.method}`;
    this.#bytes = out.bytes;
    const via = out.via;
    this.sent = { uri: o.uri ?? req.uri, via, from: headerText(req, H.From), to: headerText(req, H.To), callId: req.callId, cseq: req.cseq, routes: routeValues(req).slice(o.dropRoutes) };
    this.#send(this.#bytes);
    if (o.peer.transport === 'udp') this.#arm();
    this.#deadline = setTimeout(() => this.#afterIo('deadline', () => this.#fail('timeout', 'no response')), o.timeoutMs);
  }

  /**
   * Runs a timer's action after the I/O that is already waiting. A worker that was starved of CPU
   * runs its expired timers before it reads the datagrams that queued meanwhile (Node's timers phase
   * comes before its poll phase; setImmediate after it): a response that arrived in time is read
   * first, and the request is not sent again (some servers take an INVITE repeated after their 2xx
   * for a new request), nor failed over, for want of reading.
   */
  #afterIo(which: 'retransmit' | 'deadline', action: () => void): void {
    this.#cancelDue(which);
    this.#due[which] = setImmediate(() => {
      this.#due[which] = undefined;
      action();
    });
  }

  #cancelDue(which: 'retransmit' | 'deadline'): void {
    const d = this.#due[which];
    if (d) clearImmediate(d);
    this.#due[which] = undefined;
  }

  /** Whether a message came back the way the request went: same transport, address and port. */
  from(flow: Flow): boolean {
    return flow.transport === this.peer.transport && flow.remoteAddress === this.peer.address && flow.remotePort === this.peer.port;
  }

  receive(res: SipResponse): Received {
    const status = res.status;
    if (status < 200) {
      if (this.state >= TxState.Completed) return 'late';
      this.state = TxState.Proceeding;
      if (this.method === 'INVITE') {
        this.#stopRetransmit();
        if (!this.provisional) {
          this.#rearm(TIMER_C_MS, 'no final response');
          if (this.#cancel === 'wanted') this.#sendCancel();
        }
      } else if (!this.provisional && this.peer.transport === 'udp') {
        // Proceeding: a non-INVITE is sent again every T2 until its final response.
        this.#stopRetransmit();
        this.#arm();
      }
      this.provisional = true;
      return 'provisional';
    }
    this.#stopRetransmit();
    // Hop-by-hop ACK for a non-2xx final, also for each of its retransmissions.
    if (this.method === 'INVITE' && status >= 300) this.#send(buildCancelOrAck('ACK', { ...this.sent, to: headerText(res, H.To) }));
    if (this.state >= TxState.Completed) return 'final-again';
    this.stop();
    this.state = this.method === 'INVITE' && status < 300 ? TxState.Accepted : TxState.Completed;
    this.expires = Date.now() + clientLinger(this.#o.policy, this.method === 'INVITE', status, this.peer.transport);
    return 'final';
  }

  /** CANCEL the INVITE: now when it rang, else as soon as it does (RFC 3261 9.1). */
  cancel(): void {
    if (this.#cancel !== 'no' || this.state >= TxState.Completed) return;
    this.#cancel = 'wanted';
    if (this.provisional) this.#sendCancel();
  }

  /** The connection the request was to go over failed before any response. */
  transportFailed(detail: string): void {
    if (this.state <= TxState.Proceeding && !this.provisional) this.#fail('transport', detail);
  }

  stop(): void {
    this.#stopRetransmit();
    if (this.#deadline) clearTimeout(this.#deadline);
    this.#deadline = undefined;
    this.#cancelDue('deadline');
  }

  #sendCancel(): void {
    this.#cancel = 'sent';
    this.#send(buildCancelOrAck('CANCEL', this.sent));
  }

  #fail(why: 'timeout' | 'transport', detail: string): void {
    if (this.state >= TxState.Completed) return;
    this.stop();
    // Timer C ran out on a call that rang: the server is told to stop.
    if (why === 'timeout' && this.method === 'INVITE' && this.provisional) this.#send(buildCancelOrAck('CANCEL', this.sent));
    this.state = TxState.Terminated;
    this.expires = 0;
    this.#o.onFailed(this, why, this.provisional ? 'no final response' : detail);
  }

  #rearm(ms: number, detail: string): void {
    if (this.#deadline) clearTimeout(this.#deadline);
    this.#cancelDue('deadline');
    this.#deadline = setTimeout(() => this.#afterIo('deadline', () => this.#fail('timeout', detail)), ms);
  }

  #arm(): void {
    this.#interval = clientRetransmit(this.#o.policy, this.method === 'INVITE', this.state === TxState.Proceeding, this.#interval);
    this.#retransmit = setTimeout(() => {
      this.#retransmit = undefined;
      this.#afterIo('retransmit', () => {
        if (this.state > TxState.Proceeding || (this.method === 'INVITE' && this.provisional) || this.#retransmit) return;
        this.#send(this.#bytes);
        this.#arm();
      });
    }, this.#interval);
  }

  #stopRetransmit(): void {
    if (this.#retransmit) clearTimeout(this.#retransmit);
    this.#retransmit = undefined;
    this.#cancelDue('retransmit');
  }
}

/**
 * A request as the connector sends it on: its Via on top (built here and nowhere else, with a branch
 * of 96 random bits), then the given lines, Max-Forwards decremented, our Routes dropped.
 */
export function outgoing(
  req: SipRequest,
  o: { uri?: string; top: readonly string[]; dropRoutes: number; transport: Peer['transport']; sentBy: { address: string; port: number }; branch?: string },
): { bytes: Buffer; via: string; branch: string } {
  const branch = o.branch ?? newBranch();
  const via = `SIP/2.0/${o.transport.toUpperCase()} ${formatHostPort(o.sentBy.address, o.sentBy.port)};branch=${branch}`;
  const maxForwards = req.maxForwards < 0 ? 70 : req.maxForwards - 1;
  const bytes = buildForwardedRequest(req, { ...(o.uri !== undefined ? { uri: o.uri } : {}), top: [`Via: ${via}`, ...o.top], maxForwards, dropRoutes: o.dropRoutes });
  return { bytes, via, branch };
}

export function routeValues(msg: SipMessage): string[] {
  const out: string[] = [];
  for (const h of msg.headers) if (h.id === H.Route) for (const v of splitList(h.value)) if (v) out.push(v);
  return out;
}

export function headerText(msg: SipMessage, id: H): string {
  const line = rawLines(msg, id)[0] ?? '';
  return line.slice(line.indexOf(':') + 1).trim();
}
