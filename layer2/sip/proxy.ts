import type { SipConfig, WellKnownConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { WorkerMetrics } from '../metrics.js';
import { LogBudget } from '../../shared/log-budget.js';
import { sipTokenUri } from '../route/formats.js';
import { sipIdentifiers } from '../route/identifiers.js';
import type { Router } from '../route/router.js';
import { buildForwardedResponse, buildResponse, REASONS } from './builder.js';
import { requestRefusal } from './checks.js';
import { ClientTransaction, outgoing, routeValues } from './client-transaction.js';
import { Dialogs } from './dialogs.js';
import { SipRelay, type SipParseError } from './errors.js';
import { FlowTokens } from './flow-token.js';
import { H } from './headers.js';
import { newTag, statelessBranch } from './ids.js';
import { findHeader, type SipRequest, type SipResponse } from './message.js';
import { parseSipMessage, SipMessageError } from './parser.js';
import { leadingOurs, nextHop, recordRoute, viaIsOurs, type Hop, type Local } from './routing.js';
import { timerPolicy } from './timers.js';
import { serverKey, TransactionTable, TxState, type ServerTxn } from './transaction.js';
import type { Flow, Peer, SipTransport } from './transport.js';
import { trySipUri, unescapeUri, uriHost, uriUser } from './uri.js';
import { identifySip } from './user-agent.js';

const ALLOW = 'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY, MESSAGE, PRACK, SUBSCRIBE, REGISTER';

export interface SipProxyOptions {
  sip: SipConfig;
  wellKnown: WellKnownConfig;
  transport: SipTransport;
  router: Router;
  log: Logger;
  metrics: WorkerMetrics;
}

const peerOf = (s: { sipTransport: 'udp' | 'tcp'; address: string; sipPort: number }): Peer => ({ transport: s.sipTransport, address: s.address, port: s.sipPort });

/**
 * The transaction-stateful SIP proxy of one worker (RFC 3261 section 16), its wire concerns only: a
 * new request is handed to the router (route/router.ts), which recognises an arrival or decides,
 * then carried to the router's candidates with failover, redirected (302) or refused; anything else
 * follows routing.ts, which forwards only within the deployment. Transactions are client-transaction.ts
 * and transaction.ts under the one timer policy of timers.ts.
 */
export class SipProxy {
  readonly #o: SipProxyOptions;
  readonly #t: SipTransport;
  readonly #router: Router;
  readonly #log: Logger;
  readonly #m: WorkerMetrics;
  readonly #tx: TransactionTable;
  readonly #dialogs: Dialogs;
  readonly #flows: FlowTokens;
  readonly #owner = new WeakMap<ClientTransaction, ServerTxn>();
  readonly #local: Local;
  readonly #budget = { relay: new LogBudget(20, 10_000), forged: new LogBudget(20, 10_000), limit: new LogBudget(20, 10_000) };

  constructor(o: SipProxyOptions) {
    this.#o = o;
    this.#t = o.transport;
    this.#router = o.router;
    this.#log = o.log;
    this.#m = o.metrics;
    this.#tx = new TransactionTable(o.sip, () => timerPolicy(o.sip.t1Ms), (stx, status) => this.#outcome(stx, status));
    this.#dialogs = new Dialogs(o.sip);
    // Flow tokens under a key every worker of the deployment derives alike: a worker that replaced
    // this one (a reload, an upgrade) still leads a server's in-dialog request to its client.
    this.#flows = new FlowTokens(() => o.router.derivedKeys('sip flow token'));
    this.#local = { plain: { address: o.transport.address, port: o.transport.port }, wellKnown: { address: o.wellKnown.address, port: o.wellKnown.sip } };
    o.metrics.live.transactions = (): number => this.#tx.size;
    o.metrics.live.dialogs = (): number => this.#dialogs.size;
    o.metrics.live.unacked = (): number => this.#dialogs.unacked;
  }

  start(): void {
    this.#tx.start();
    this.#dialogs.start();
  }

  stop(): void {
    this.#tx.stop();
    this.#dialogs.stop();
  }

  get dialogCount(): number {
    return this.#dialogs.size;
  }

  /** Requests still without a final response (a worker being drained waits for them: a retransmission or CANCEL must find it). */
  get openTransactions(): number {
    return this.#tx.awaiting();
  }

  onMessage(bytes: Buffer, flow: Flow, datagram: boolean): void {
    let msg;
    try {
      msg = parseSipMessage(bytes, datagram);
    } catch (err) {
      if (!(err instanceof SipMessageError)) throw err;
      if (!err.partial?.isRequest) return this.#m.dropped.labels('malformed_response').inc();
      this.#m.rejected.labels(String(err.status)).inc();
      this.#log.warn({ code: err.code, status: err.status, reason: err.reason, peer: `${flow.remoteAddress}:${flow.remotePort}` }, 'malformed SIP request refused');
      if (err.partial.raw.toString('latin1', 0, 4) !== 'ACK ') flow.send(buildResponse(err.partial, err.status, err.reason));
      return;
    }
    if (msg.kind === 'request') {
      this.#m.requestsIn.inc();
      this.#onRequest(msg, flow);
    } else {
      this.#m.responsesIn.inc();
      this.#onResponse(msg, flow);
    }
  }

  onStreamError(err: SipParseError, flow: Flow): void {
    this.#m.rejected.labels(String(err.status)).inc();
    this.#log.warn({ code: err.code, reason: err.reason, peer: `${flow.remoteAddress}:${flow.remotePort}` }, 'SIP stream error, connection closed');
  }

  onPeerFailed(peer: Peer, err: Error): void {
    this.#tx.peerFailed(peer, err.message);
  }

  // ---- requests ------------------------------------------------------------------------------

  #onRequest(req: SipRequest, flow: Flow): void {
    if (req.method === 'ACK') return this.#onAck(req, flow);
    if (req.method === 'CANCEL') return this.#onCancel(req, flow);
    const key = serverKey(req, req.method);
    const existing = this.#tx.servers.get(key);
    if (existing) {
      // A retransmission answers the way it came: when the layer-1 member that relayed the request
      // died, the client's retransmission arrives through its peer, and the old way leads nowhere.
      existing.flow = flow;
      if (existing.last) existing.flow.send(existing.last);
      else this.#tx.tryingNow(existing);
      return;
    }
    const refusal = requestRefusal(req);
    const routes = routeValues(req);
    if (refusal) {
      this.#log.warn({ callId: req.callId, method: req.method, status: refusal.status, reason: refusal.reason }, 'SIP request refused');
      return this.#stateless(req, flow, refusal.status, refusal.reason, refusal.headers);
    }
    if (req.method === 'OPTIONS' && !req.to.tag && routes.length === 0 && uriUser(req.uri) === '') {
      flow.send(buildResponse(req, 200, 'OK', { toTag: newTag(), headers: [ALLOW, 'Accept: application/sdp', 'Supported: path'] }));
      return;
    }
    if (req.maxForwards === 0) return this.#stateless(req, flow, 483, REASONS[483]!);
    // An initial request may come pre-routed to us (we are its outbound proxy): those Routes go.
    // Anything else has its next hop settled first: a refusal is stateless (never sent again, so a
    // forged source gets one answer per request, no more).
    const ours = leadingOurs(routes, this.#local);
    const initial = !req.to.tag && ours === routes.length;
    const hop = initial ? undefined : nextHop({ uri: req.uri, routes }, this.#facts(req, flow));
    if (hop?.kind === 'refuse') {
      this.#notRelayed(req, flow, hop);
      return this.#stateless(req, flow, hop.status, hop.reason);
    }
    const full = this.#tx.admit(flow.remoteAddress);
    if (full) {
      this.#m.limited.labels(full).inc();
      if (this.#budget.limit.take(Date.now()).ok) this.#log.warn({ code: SipRelay.TransactionLimit, scope: full, source: flow.remoteAddress, pending: this.#tx.pendingOf(flow.remoteAddress) }, 'SIP transaction table bound reached: 503');
      return this.#stateless(req, flow, 503, REASONS[503]!, [`Retry-After: ${full === 'global' ? 5 : 2}`]);
    }
    const stx = this.#tx.open(key, req, flow);
    if (req.method === 'INVITE') this.#tx.tryingLater(stx);
    if (hop) return this.#inDialog(stx, hop);
    stx.dropRoutes = ours;
    this.#initial(stx);
  }

  #stateless(req: SipRequest, flow: Flow, status: number, reason: string, headers: readonly string[] = []): void {
    this.#m.rejected.labels(String(status)).inc();
    flow.send(buildResponse(req, status, reason, { toTag: newTag(), headers }));
  }

  #initial(stx: ServerTxn): void {
    const req = stx.req;
    const target = trySipUri(req.uri); // undefined: a tel: URI
    const invite = req.method === 'INVITE';
    const r = this.#router.route(
      {
        protocol: 'sip', callId: req.callId, identity: identifySip(findHeader(req, H.UserAgent)?.value ?? findHeader(req, H.Server)?.value),
        source: stx.flow.remoteAddress, domain: uriHost(req.from.uri), meeting: target ? unescapeUri(target.user) : '',
        ...(invite ? { token: target?.params.get(this.#o.sip.redirectTokenParam) ?? '', identifiers: sipIdentifiers(req.callId, req.from.tag) } : {}),
        redirectable: invite,
      },
      'sip',
    );
    if (r.action === 'refuse') return this.#tx.respond(stx, 503, 'No server available');
    if (r.action === 'redirect') {
      stx.technique = 'redirect';
      const contact = sipTokenUri({ user: target?.user ?? '', address: r.to.address, port: r.to.port, tcp: stx.flow.transport === 'tcp', param: this.#o.sip.redirectTokenParam, token: r.token });
      // The 302 goes once the redirect's record is committed: where the client arrives, it is found.
      return this.#router.afterIssued(() => stx.state === TxState.Proceeding && this.#tx.respond(stx, 302, REASONS[302]!, { headers: [`Contact: <${contact}>`] }));
    }
    stx.call = r.call;
    stx.technique = r.call.technique;
    this.#carry(stx);
  }

  /** To the current candidate of the routed call; the token stays in the URI (the server may tell an arrival too). */
  #carry(stx: ServerTxn): void {
    const s = stx.call!.server;
    const peer = peerOf(s);
    const u = trySipUri(stx.req.uri); // a tel: URI: the server gets no user part
    const token = u?.params.get(this.#o.sip.redirectTokenParam) ?? '';
    const uri = sipTokenUri({ user: u?.user ?? '', address: s.address, port: s.sipPort, tcp: peer.transport === 'tcp', param: this.#o.sip.redirectTokenParam, token });
    const rr = stx.method === 'INVITE' || stx.method === 'SUBSCRIBE' ? recordRoute(this.#local, peer.transport, stx.flow, this.#flows.make(stx.flow.key)) : [];
    this.#forward(stx, peer, (b) => this.#t.sendTo(peer, b), this.#local.plain, { uri, top: rr, drop: stx.dropRoutes, timeoutMs: this.#o.sip.backendTimeoutMs });
  }

  #inDialog(stx: ServerTxn, hop: Exclude<Hop, { kind: 'refuse' }>): void {
    const to = this.#hopTo(hop);
    if (!to) return this.#tx.respond(stx, 430, REASONS[430]!);
    this.#forward(stx, to.peer, to.send, to.sentBy, { drop: hop.drop, timeoutMs: this.#o.sip.transactionTimeoutMs });
  }

  /** How a hop is reached: a server by its address from the plain port, or a client flow this worker holds. */
  #hopTo(hop: Exclude<Hop, { kind: 'refuse' }>): { peer: Peer; send: (b: Buffer) => void; sentBy: { address: string; port: number } } | undefined {
    if (hop.kind === 'server') return { peer: hop.peer, send: (b) => this.#t.sendTo(hop.peer, b), sentBy: this.#local.plain };
    const f = this.#t.flowByKey(hop.key);
    return f && { peer: { transport: f.transport, address: f.remoteAddress, port: f.remotePort }, send: (b) => f.send(b), sentBy: { address: f.localAddress, port: f.localPort } };
  }

  #forward(stx: ServerTxn, peer: Peer, send: (b: Buffer) => void, sentBy: { address: string; port: number }, o: { uri?: string; top?: string[]; drop: number; timeoutMs: number }): void {
    const c = new ClientTransaction({
      req: stx.req, ...(o.uri !== undefined ? { uri: o.uri } : {}), top: o.top ?? [], dropRoutes: o.drop, peer, send, sentBy, timeoutMs: o.timeoutMs, policy: timerPolicy(this.#o.sip.t1Ms),
      onFailed: (tx, why, detail) => this.#clientFailed(tx, why, detail),
    });
    stx.client = c;
    this.#owner.set(c, stx);
    this.#tx.clients.set(c.key, c);
  }

  /** No response, or the connection failed: the next candidate, else 408/503 (never 408 to a non-INVITE: RFC 4320). */
  #clientFailed(c: ClientTransaction, why: 'timeout' | 'transport', detail: string): void {
    this.#tx.clients.delete(c.key);
    const stx = this.#owner.get(c);
    if (!stx || stx.client !== c || stx.state >= TxState.Completed) return;
    const call = stx.call;
    this.#log.warn({ callId: stx.req.callId, method: c.method, server: call?.server.name, peer: `${c.peer.address}:${c.peer.port}`, why, detail }, 'request failed at the next hop');
    call?.failed(why, detail);
    if (c.provisional && c.method === 'INVITE') return this.#tx.respond(stx, 408, REASONS[408]!);
    if (stx.cancelled) return this.#tx.respond(stx, 487, REASONS[487]!);
    if (call?.next()) {
      this.#m.failovers.inc();
      return this.#carry(stx);
    }
    if (why === 'timeout') this.#m.timeouts.labels(stx.method).inc();
    if (why === 'timeout' && stx.method !== 'INVITE') return this.#tx.finish(stx, TxState.Terminated);
    this.#tx.respond(stx, why === 'timeout' ? 408 : 503, REASONS[why === 'timeout' ? 408 : 503]!);
  }

  #onAck(req: SipRequest, flow: Flow): void {
    const stx = this.#tx.servers.get(serverKey(req, 'INVITE'));
    if (stx?.state === TxState.Completed) return this.#tx.acked(stx);
    if (stx && stx.state !== TxState.Accepted) return;
    // The ACK of a 2xx: a transaction of its own, forwarded without state along the route.
    this.#dialogs.acked(req.callId, Date.now());
    if (req.maxForwards === 0) return;
    const hop = nextHop({ uri: req.uri, routes: routeValues(req) }, this.#facts(req, flow));
    // An ACK goes nowhere the deployment did not decide either; it is dropped, not answered.
    const to = hop.kind === 'refuse' ? undefined : this.#hopTo(hop);
    if (!to || hop.kind === 'refuse') return this.#m.dropped.labels('ack_no_route').inc();
    const branch = statelessBranch(this.#router.derivedKeys('sip stateless branch')[0]!, req);
    to.send(outgoing(req, { top: [], dropRoutes: hop.drop, transport: to.peer.transport, sentBy: to.sentBy, branch }).bytes);
  }

  #onCancel(req: SipRequest, flow: Flow): void {
    const stx = this.#tx.servers.get(serverKey(req, 'INVITE'));
    flow.send(buildResponse(req, stx ? 200 : 481, stx ? 'OK' : REASONS[481]!, { toTag: newTag() }));
    if (!stx || stx.state !== TxState.Proceeding || stx.cancelled) return;
    stx.cancelled = true;
    if (stx.client) stx.client.cancel();
    else this.#tx.respond(stx, 487, REASONS[487]!);
  }

  #facts(req: SipRequest, flow: Flow): Parameters<typeof nextHop>[1] {
    const d = this.#dialogs.get(req.callId);
    return {
      local: this.#local,
      openFlowToken: (t) => this.#flows.open(t),
      serverAt: (a, p) => ((s) => (s ? peerOf(s) : undefined))(this.#router.sipServerAt(a, p)),
      // A server reaches this worker on its plain port, never through layer 1; and a client may share
      // a server's address (sipp beside the built-in backend on one host): the dialog's client flow is
      // the client's whatever its address.
      fromServer: !flow.proxied && flow.key !== d?.clientFlow && this.#router.isServerAddress(flow.remoteAddress),
      dialog: d ? { server: d.server, clientFlow: d.clientFlow } : undefined,
    };
  }

  #notRelayed(req: SipRequest, flow: Flow, hop: Extract<Hop, { kind: 'refuse' }>): void {
    this.#m.notRelayed.labels(hop.why).inc();
    if (this.#budget.relay.take(Date.now()).ok) {
      this.#log.warn({ code: SipRelay.NotRelayed, why: hop.why, status: hop.status, method: req.method, callId: req.callId, uri: req.uri, source: `${flow.remoteAddress}:${flow.remotePort}` }, 'SIP request not forwarded: not a destination of this deployment');
    }
  }

  // ---- responses -----------------------------------------------------------------------------

  #onResponse(res: SipResponse, flow: Flow): void {
    const c = this.#tx.clients.get(`${res.vias[0]!.branch}|${res.cseqMethod}`);
    if (!c) {
      if (res.cseqMethod !== 'CANCEL') this.#m.dropped.labels(viaIsOurs(res.vias[0]!, this.#local) ? 'no_transaction' : 'not_our_via').inc();
      return;
    }
    if (!c.from(flow)) {
      // Not from where the request went: forged (or misrouted). Dropped, never relayed, never learned.
      this.#m.dropped.labels('forged_response').inc();
      if (this.#budget.forged.take(Date.now()).ok) this.#log.warn({ code: SipRelay.ForgedResponse, status: res.status, callId: res.callId, from: `${flow.transport}:${flow.remoteAddress}:${flow.remotePort}`, expected: `${c.peer.transport}:${c.peer.address}:${c.peer.port}` }, 'SIP response from another source than its request went to: dropped');
      return;
    }
    const stx = this.#owner.get(c);
    const got = c.receive(res);
    const status = res.status;
    if (got === 'late' || !stx) return;
    if (got === 'final-again') {
      if (c.state === TxState.Accepted && status < 300) stx.flow.send(buildForwardedResponse(res));
      return;
    }
    if (got === 'provisional') {
      if (stx.cancelled) c.cancel();
      if (status > 100 && stx.state === TxState.Proceeding) this.#tx.send(stx, buildForwardedResponse(res), status);
      return;
    }
    if (stx.state >= TxState.Completed && !(stx.state === TxState.Accepted && status < 300)) return;
    const call = stx.call;
    if (call && c === stx.client && stx.method === 'INVITE') {
      if (status >= 500) call.failed('unavailable', `status ${status}`);
      else call.answered(`status ${status}`);
      if (status === 503 && !stx.cancelled && call.next()) {
        this.#m.failovers.inc();
        this.#log.warn({ callId: stx.req.callId, server: c.peer.address }, 'server answered 503, trying the next');
        return this.#carry(stx);
      }
      if (status < 300) this.#dialogs.answered(stx.req.callId, call, c.peer, stx.flow.key, Date.now());
    }
    if (c.method === 'BYE' && status < 300) this.#dialogs.ended(stx.req.callId);
    this.#tx.send(stx, buildForwardedResponse(res), status);
  }

  /** The INVITE's outcome, once its final response is out. */
  #outcome(stx: ServerTxn, status: number): void {
    if (stx.method !== 'INVITE') return;
    const outcome = status < 300 ? 'answered' : status < 400 ? 'redirected' : stx.cancelled ? 'cancelled' : 'failed';
    const ms = Date.now() - stx.startedAt;
    this.#m.calls.labels(stx.technique, outcome).inc();
    this.#m.setupSeconds.observe(ms / 1000);
    if (this.#log.isLevelEnabled('info')) this.#log.info({ callId: stx.req.callId, status, technique: stx.technique, server: stx.call?.server.name, attempts: (stx.call?.attempt ?? 0) + 1, setupMs: ms }, 'call outcome');
  }
}
