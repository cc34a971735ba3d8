import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { ServerConfig, SipConfig, WellKnownConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { Technique } from '../decide/types.js';
import type { CallContext, LearningEngine } from '../learn/engine.js';
import type { LiveView } from '../learn/live.js';
import type { WorkerMetrics } from '../metrics.js';
import { buildCancelOrAck, buildForwardedRequest, buildForwardedResponse, buildResponse, rawLines, REASONS, type ResponseOptions } from './builder.js';
import type { SipParseError } from './errors.js';
import { H } from './headers.js';
import { findHeader, type SipRequest, type SipResponse } from './message.js';
import { parseSipMessage, SipMessageError, type PartialMessage } from './parser.js';
import { clearClientTimers, serverKey, TransactionTable, TxState, type ClientTxn, type ServerTxn } from './transaction.js';
import type { Flow, Peer, SipTransport, Transport } from './transport.js';
import { formatHostPort, parseSipUri, requestUriScheme, unescapeUri, type SipUri } from './uri.js';
import { identifySip } from './user-agent.js';
import { parseNameAddr, splitList } from './values.js';

const T2 = 4000;
const TIMER_C = 180_000;
/** How long a redirect token stays valid for the arrival it announces. */
const ALLOW = 'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY, MESSAGE, PRACK, SUBSCRIBE, REGISTER';

export interface SipProxyOptions {
  sip: SipConfig;
  wellKnown: WellKnownConfig;
  workerId: string;
  transport: SipTransport;
  log: Logger;
  metrics: WorkerMetrics;
  engine: LearningEngine;
  live: LiveView;
}

/** URI parameter naming the server a redirect chose, for an arrival that comes before the record. */
const SERVER_PARAM = 'vcp-srv';
/** How long an answered call waits for its ACK to give a round-trip sample. */
const ACK_WAIT_MS = 32_000;

/**
 * The transaction-stateful SIP proxy of one worker (RFC 3261 section 16): initial requests are
 * decided (technique, backend) and proxied with failover or redirected; in-dialog requests follow the
 * Route set our Record-Route put there; malformed requests get the 4xx the parser names.
 */
export class SipProxy {
  readonly #c: { sip: SipConfig; wellKnown: WellKnownConfig };
  readonly #t: SipTransport;
  readonly #log: Logger;
  readonly #m: WorkerMetrics;
  readonly #tx = new TransactionTable();
  /** Established calls: Call-ID → server, the capacity units they hold, and when they started. */
  readonly #dialogs = new Map<string, { server: string; units: number; at: number }>();
  /** Answered calls awaiting the ACK that times the round trip to the client's network. */
  readonly #awaitingAck = new Map<string, { ctx: CallContext; sentAt: number }>();
  readonly #branchPrefix: string;
  #seq = 0;
  readonly #engine: LearningEngine;
  readonly #live: LiveView;
  #ackSweep: NodeJS.Timeout | undefined;

  constructor(o: SipProxyOptions) {
    this.#c = { sip: o.sip, wellKnown: o.wellKnown };
    this.#t = o.transport;
    this.#log = o.log;
    this.#m = o.metrics;
    this.#engine = o.engine;
    this.#live = o.live;
    this.#branchPrefix = `z9hG4bK${randomBytes(4).toString('hex')}`;
    o.metrics.live.transactions = (): number => this.#tx.size;
    o.metrics.live.dialogs = (): number => this.#dialogs.size;
  }

  start(): void {
    this.#tx.start();
    this.#ackSweep = setInterval(() => {
      const now = Date.now();
      for (const [k, v] of this.#awaitingAck) if (v.sentAt < now - ACK_WAIT_MS) this.#awaitingAck.delete(k);
      // A call whose end this worker never saw (its BYE went another way) gives its units back.
      for (const [k, d] of this.#dialogs) if (d.at < now - this.#c.sip.maxCallMs) this.#dialogEnded(k);
    }, 5000);
    this.#ackSweep.unref();
  }

  stop(): void {
    this.#tx.stop();
    if (this.#ackSweep) clearInterval(this.#ackSweep);
  }

  /** Established calls through this worker. */
  get dialogCount(): number {
    return this.#dialogs.size;
  }

  /**
   * Requests from clients still without a final response: a retransmission or a CANCEL of one must
   * find this worker, so a worker being drained waits for them. Completed transactions that only
   * absorb retransmissions do not count.
   */
  get openTransactions(): number {
    let n = 0;
    for (const s of this.#tx.servers.values()) if (s.state < TxState.Completed) n++;
    return n;
  }

  // ---- input ---------------------------------------------------------------------------------

  onMessage(bytes: Buffer, flow: Flow, datagram: boolean): void {
    let msg;
    try {
      msg = parseSipMessage(bytes, datagram);
    } catch (err) {
      if (err instanceof SipMessageError) this.#malformed(err, err.partial, flow);
      else this.#log.error({ err }, 'unexpected parser failure');
      return;
    }
    if (msg.kind === 'request') {
      this.#m.requestsIn.inc();
      this.#onRequest(msg, flow);
    } else {
      this.#m.responsesIn.inc();
      this.#onResponse(msg);
    }
  }

  onStreamError(err: SipParseError, flow: Flow): void {
    this.#m.rejected.labels(String(err.status)).inc();
    this.#log.warn({ code: err.code, reason: err.reason, peer: `${flow.remoteAddress}:${flow.remotePort}` }, 'SIP stream error, connection closed');
  }

  onPeerFailed(peer: Peer, err: Error): void {
    for (const c of this.#tx.clients.values()) {
      if (c.state <= TxState.Proceeding && !c.provisional && c.peer.address === peer.address && c.peer.port === peer.port && c.peer.transport === peer.transport) {
        this.#clientFailed(c, 'transport', err.message);
      }
    }
  }

  #malformed(err: SipMessageError, partial: PartialMessage | undefined, flow: Flow): void {
    if (!partial?.isRequest) {
      this.#m.dropped.labels('malformed_response').inc();
      return;
    }
    this.#m.rejected.labels(String(err.status)).inc();
    this.#log.warn({ code: err.code, status: err.status, reason: err.reason, peer: `${flow.remoteAddress}:${flow.remotePort}` }, 'malformed SIP request refused');
    if (startsWithAck(partial.raw)) return;
    flow.send(buildResponse(partial, err.status, err.reason));
  }

  // ---- requests ------------------------------------------------------------------------------

  #onRequest(req: SipRequest, flow: Flow): void {
    const method = req.method;
    if (method === 'ACK') return this.#onAck(req, flow);
    if (method === 'CANCEL') return this.#onCancel(req, flow);
    const key = serverKey(req, method);
    const existing = this.#tx.servers.get(key);
    if (existing) {
      // A retransmission answers the way it came: when the layer-1 member that relayed the request
      // died, the client's retransmission arrives through its peer, and the old way leads nowhere.
      existing.flow = flow;
      if (existing.last) existing.flow.send(existing.last);
      return;
    }
    const refusal = this.#check(req);
    if (refusal) {
      this.#m.rejected.labels(String(refusal.status)).inc();
      this.#log.warn({ callId: req.callId, method, status: refusal.status, reason: refusal.reason }, 'SIP request refused');
      flow.send(buildResponse(req, refusal.status, refusal.reason, { toTag: this.#tag(), headers: refusal.headers ?? [] }));
      return;
    }
    const routes = routeValues(req);
    if (method === 'OPTIONS' && !req.to.tag && routes.length === 0 && this.#addressedToUs(req.uri)) {
      flow.send(buildResponse(req, 200, 'OK', { toTag: this.#tag(), headers: [ALLOW, 'Accept: application/sdp', 'Supported: path'] }));
      return;
    }
    if (req.maxForwards === 0) {
      this.#m.rejected.labels('483').inc();
      flow.send(buildResponse(req, 483, REASONS[483]!, { toTag: this.#tag() }));
      return;
    }
    const stx = this.#newServerTxn(key, req, flow);
    if (method === 'INVITE') this.#respond(stx, 100, REASONS[100]!);
    // An initial request may come pre-routed to us (we are its outbound proxy): those Routes go.
    const ours = this.#leadingOurs(routes);
    if (!req.to.tag && ours === routes.length) {
      stx.dropRoutes = ours;
      this.#initial(stx);
    } else this.#forwardInDialog(stx, routes);
  }

  /** Checks that refuse a request before it goes anywhere: RFC 3261 16.3 and the torture verdicts. */
  #check(req: SipRequest): { status: number; reason: string; headers?: string[] } | undefined {
    const scheme = requestUriScheme(req.uri);
    if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') return { status: 416, reason: REASONS[416]! };
    if (scheme !== 'tel') {
      let uri: SipUri;
      try {
        uri = parseSipUri(req.uri);
      } catch {
        return { status: 400, reason: 'Bad Request-URI' };
      }
      if (uri.headers) return { status: 400, reason: 'Headers not allowed in the Request-URI' };
    }
    const pr = findHeader(req, H.ProxyRequire);
    if (pr) {
      const opts = req.headers.filter((h) => h.id === H.ProxyRequire).flatMap((h) => splitList(h.value)).filter(Boolean);
      if (opts.length > 0) return { status: 420, reason: REASONS[420]!, headers: [`Unsupported: ${opts.join(', ')}`] };
    }
    return undefined;
  }

  #addressedToUs(uri: string): boolean {
    try {
      const u = parseSipUri(uri);
      return u.user === '';
    } catch {
      return false;
    }
  }

  #newServerTxn(key: string, req: SipRequest, flow: Flow): ServerTxn {
    const stx: ServerTxn = {
      key, method: req.method, req, flow, state: TxState.Proceeding, last: undefined, expires: Number.MAX_SAFE_INTEGER,
      startedAt: Date.now(), cancelled: false, client: undefined, candidates: [], attempt: 0, technique: 'proxy',
      ctx: undefined, lastFailure: undefined, dropRoutes: 0,
    };
    this.#tx.servers.set(key, stx);
    return stx;
  }

  #respond(stx: ServerTxn, status: number, reason: string, opts: ResponseOptions = {}): void {
    const bytes = buildResponse(stx.req, status, reason, { toTag: status > 100 ? this.#tag() : undefined, ...opts } as ResponseOptions);
    this.#sendResponse(stx, bytes, status);
  }

  /** Send a response on the server transaction and move it on. */
  #sendResponse(stx: ServerTxn, bytes: Buffer, status: number): void {
    stx.last = bytes;
    stx.flow.send(bytes);
    if (status < 200) return;
    const linger = stx.flow.transport === 'udp' ? 32_000 : 5_000;
    stx.expires = Date.now() + linger;
    stx.state = status < 300 && stx.method === 'INVITE' ? TxState.Accepted : TxState.Completed;
    if (stx.method === 'INVITE') {
      const outcome = status < 300 ? 'answered' : status < 400 ? 'redirected' : stx.cancelled ? 'cancelled' : 'failed';
      this.#m.calls.labels(stx.technique, outcome).inc();
      this.#m.setupSeconds.observe((Date.now() - stx.startedAt) / 1000);
      this.#log.info({ callId: stx.req.callId, status, technique: stx.technique, server: stx.client?.server?.name, setupMs: Date.now() - stx.startedAt }, 'call outcome');
      if (status < 300 && stx.ctx) this.#awaitingAck.set(stx.req.callId, { ctx: stx.ctx, sentAt: Date.now() });
    }
  }

  /** A server answered (a final response) or failed to: what the learning needs from a carried call. */
  #learn(stx: ServerTxn, server: ServerConfig, ok: boolean, detail: string): void {
    if (!stx.ctx || stx.method !== 'INVITE') return;
    this.#engine.carried(stx.ctx, server.name, stx.technique as Technique, ok, Date.now() - stx.startedAt, detail);
  }

  #initial(stx: ServerTxn): void {
    const req = stx.req;
    let target: SipUri | undefined;
    try {
      target = parseSipUri(req.uri);
    } catch {
      target = undefined; // a tel: URI
    }
    const info = {
      protocol: 'sip' as const,
      callId: req.callId,
      identity: identifySip(findHeader(req, H.UserAgent)?.value ?? findHeader(req, H.Server)?.value),
      source: stx.flow.remoteAddress,
      domain: fromDomain(req),
      meeting: target ? unescapeUri(target.user) : '',
    };
    const token = req.method === 'INVITE' ? target?.params.get(this.#c.sip.redirectTokenParam) : undefined;
    if (token) {
      // A redirected client arriving: the redirect named the server; it is carried there from here.
      const arrived = this.#engine.arrival(token, info, target?.params.get(SERVER_PARAM) ?? '');
      if (arrived) {
        stx.ctx = arrived;
        stx.candidates = arrived.decision.candidates.map((c) => this.#engine.server(c.server)!).filter((x) => x.sipPort > 0);
        if (stx.candidates.length > 0) {
          stx.technique = arrived.decision.technique;
          this.#forwardToCandidate(stx);
          return;
        }
      }
    }
    const ctx = this.#engine.decide(info);
    const d = ctx.decision;
    stx.ctx = ctx;
    stx.candidates = d.candidates.map((c) => this.#engine.server(c.server)!).filter((s) => s.sipPort > 0);
    if (stx.candidates.length === 0) {
      this.#respond(stx, 503, 'No server available');
      return;
    }
    stx.technique = req.method === 'INVITE' ? d.technique : d.pop === this.#engine.localPop ? 'local' : 'proxy';
    if (req.method === 'INVITE' && d.technique === 'redirect') return this.#redirect(stx, stx.candidates[0]!);
    if (stx.technique === 'redirect') stx.technique = 'proxy';
    this.#forwardToCandidate(stx);
  }

  #redirect(stx: ServerTxn, server: ServerConfig): void {
    const token = this.#engine.redirected(stx.ctx!, server.name);
    const at = this.#engine.arrivalPoint(server.name, token);
    let user = '';
    try {
      user = parseSipUri(stx.req.uri).user;
    } catch {
      // tel: URIs keep no user part here
    }
    const host = at ? formatHostPort(at.address, at.sipPort) : formatHostPort(server.address, server.sipPort);
    const transport = stx.flow.transport === 'tcp' ? ';transport=tcp' : '';
    const contact = `sip:${user ? `${user}@` : ''}${host}${transport};${this.#c.sip.redirectTokenParam}=${token};${SERVER_PARAM}=${server.name}`;
    this.#respond(stx, 302, REASONS[302]!, { headers: [`Contact: <${contact}>`] });
  }

  #forwardToCandidate(stx: ServerTxn): void {
    const server = stx.candidates[stx.attempt]!;
    const req = stx.req;
    const peer: Peer = { transport: server.sipTransport, address: server.address, port: server.sipPort };
    let user = '';
    let token = '';
    try {
      const u = parseSipUri(req.uri);
      user = u.user;
      token = u.params.get(this.#c.sip.redirectTokenParam) ?? '';
    } catch {
      // a tel: URI: the backend gets no user part
    }
    // The token stays in the URI so that the server, too, can tell a redirected arrival.
    const keep = token ? `;${this.#c.sip.redirectTokenParam}=${token}` : '';
    const uri = `sip:${user ? `${user}@` : ''}${formatHostPort(server.address, server.sipPort)}${peer.transport === 'tcp' ? ';transport=tcp' : ''}${keep}`;
    const rr = req.method === 'INVITE' || req.method === 'SUBSCRIBE' ? this.#recordRoute(stx.flow, peer.transport) : [];
    this.#sendRequest(stx, req, peer, uri, rr, stx.dropRoutes, server);
  }

  /** Two Record-Route entries: one the backend reaches us by (with the client's flow token), one the client does. */
  #recordRoute(flow: Flow, backendTransport: Transport): string[] {
    const t = this.#t;
    const back = `<sip:${formatHostPort(t.address, t.port)};transport=${backendTransport};lr;vcf=${flow.key}>`;
    const front = `<sip:${formatHostPort(flow.localAddress, flow.localPort)};transport=${flow.transport};lr>`;
    return [`Record-Route: ${back}`, `Record-Route: ${front}`];
  }

  #sendRequest(stx: ServerTxn, req: SipRequest, peer: Peer, uri: string | undefined, extraTop: string[], dropRoutes: number, server: ServerConfig | undefined, via?: { address: string; port: number }): void {
    const branch = `${this.#branchPrefix}${(++this.#seq).toString(36)}`;
    const at = via ?? { address: this.#t.address, port: this.#t.port };
    const viaValue = `SIP/2.0/${peer.transport.toUpperCase()} ${formatHostPort(at.address, at.port)};branch=${branch}`;
    const maxForwards = req.maxForwards < 0 ? 70 : req.maxForwards - 1;
    const bytes = buildForwardedRequest(req, { uri, top: [`Via: ${viaValue}`, ...extraTop], maxForwards, dropRoutes });
    const remaining = routeValues(req).slice(dropRoutes);
    const c: ClientTxn = {
      key: `${branch}|${req.method}`, branch, method: req.method, peer, bytes,
      sent: {
        uri: uri ?? req.uri, via: viaValue, from: headerText(req, H.From), to: headerText(req, H.To), callId: req.callId, cseq: req.cseq, routes: remaining,
      },
      server, state: TxState.Trying, provisional: false, cancelSent: false, retransmitTimer: undefined, interval: this.#c.sip.t1Ms,
      deadline: undefined, expires: Number.MAX_SAFE_INTEGER, stx,
    };
    stx.client = c;
    this.#tx.clients.set(c.key, c);
    this.#transmit(c);
    if (peer.transport === 'udp') this.#armRetransmit(c);
    // A request with candidates moves on after backendTimeoutMs; one along a dialog has no alternative,
    // so it waits the whole transaction lifetime (Timer B/F) for a slow peer.
    const wait = server !== undefined ? this.#c.sip.backendTimeoutMs : this.#c.sip.transactionTimeoutMs;
    c.deadline = setTimeout(() => this.#clientFailed(c, 'timeout', 'no response'), wait);
  }

  #transmit(c: ClientTxn): void {
    this.#t.sendTo(c.peer, c.bytes);
  }

  #armRetransmit(c: ClientTxn): void {
    c.retransmitTimer = setTimeout(() => {
      if (c.state > TxState.Proceeding || (c.method === 'INVITE' && c.provisional)) return;
      this.#transmit(c);
      c.interval = c.method === 'INVITE' ? c.interval * 2 : Math.min(c.interval * 2, T2);
      this.#armRetransmit(c);
    }, c.interval);
  }

  /** The backend did not answer, or could not be reached: next backend, else 408/503 to the client. */
  #clientFailed(c: ClientTxn, why: 'timeout' | 'transport', detail: string): void {
    if (c.state >= TxState.Completed) return;
    clearClientTimers(c);
    c.state = TxState.Terminated;
    c.expires = 0;
    this.#tx.clients.delete(c.key);
    const stx = c.stx;
    if (!stx || stx.state >= TxState.Completed) return;
    stx.lastFailure = why;
    if (c.server) this.#learn(stx, c.server, false, why === 'timeout' ? 'no response' : `transport: ${detail}`);
    this.#log.warn({ callId: stx.req.callId, method: c.method, server: c.server?.name, peer: `${c.peer.address}:${c.peer.port}`, why, detail }, 'backend failed');
    if (c.provisional && c.method === 'INVITE') {
      // Timer C: a call that rang too long. Cancel it at the backend, answer the caller.
      this.#t.sendTo(c.peer, buildCancelOrAck('CANCEL', c.sent));
      this.#respond(stx, 408, REASONS[408]!);
      return;
    }
    if (stx.cancelled) {
      this.#respond(stx, 487, REASONS[487]!);
      return;
    }
    if (c.server && stx.attempt + 1 < stx.candidates.length) {
      stx.attempt++;
      this.#m.failovers.inc();
      this.#forwardToCandidate(stx);
      return;
    }
    if (why === 'timeout') this.#m.timeouts.labels(stx.method).inc();
    if (why === 'timeout' && stx.method !== 'INVITE') {
      // RFC 4320 section 4.1: no 408 to a non-INVITE; the client's own Timer F ends its transaction.
      stx.state = TxState.Terminated;
      stx.expires = Date.now() + (stx.flow.transport === 'udp' ? 32_000 : 5_000);
      return;
    }
    if (why === 'timeout') this.#respond(stx, 408, REASONS[408]!);
    else this.#respond(stx, 503, REASONS[503]!);
  }

  #forwardInDialog(stx: ServerTxn, routes: string[]): void {
    const req = stx.req;
    const hop = this.#nextHop(req, routes);
    if (!hop) {
      this.#respond(stx, 404, 'No route to the next hop');
      return;
    }
    if (hop.flow) {
      // Towards the client over its flow; our Via names the address it reaches us at.
      const f = hop.flow;
      const peer: Peer = { transport: f.transport, address: f.remoteAddress, port: f.remotePort };
      this.#sendRequestOnFlow(stx, req, f, peer, hop.drop);
      return;
    }
    this.#sendRequest(stx, req, hop.peer!, undefined, [], hop.drop, undefined);
  }

  #sendRequestOnFlow(stx: ServerTxn, req: SipRequest, f: Flow, peer: Peer, drop: number): void {
    const branch = `${this.#branchPrefix}${(++this.#seq).toString(36)}`;
    const viaValue = `SIP/2.0/${f.transport.toUpperCase()} ${formatHostPort(f.localAddress, f.localPort)};branch=${branch}`;
    const maxForwards = req.maxForwards < 0 ? 70 : req.maxForwards - 1;
    const bytes = buildForwardedRequest(req, { top: [`Via: ${viaValue}`], maxForwards, dropRoutes: drop });
    const c: ClientTxn = {
      key: `${branch}|${req.method}`, branch, method: req.method, peer, bytes,
      sent: { uri: req.uri, via: viaValue, from: headerText(req, H.From), to: headerText(req, H.To), callId: req.callId, cseq: req.cseq, routes: routeValues(req).slice(drop) },
      server: undefined, state: TxState.Trying, provisional: false, cancelSent: false, retransmitTimer: undefined, interval: this.#c.sip.t1Ms,
      deadline: undefined, expires: Number.MAX_SAFE_INTEGER, stx,
    };
    stx.client = c;
    this.#tx.clients.set(c.key, c);
    f.send(bytes);
    if (f.transport === 'udp') {
      const again = (): void => {
        c.retransmitTimer = setTimeout(() => {
          if (c.state > TxState.Proceeding || (c.method === 'INVITE' && c.provisional)) return;
          f.send(bytes);
          c.interval = Math.min(c.interval * 2, T2);
          again();
        }, c.interval);
      };
      again();
    }
    c.deadline = setTimeout(() => this.#clientFailed(c, 'timeout', 'no response from the client'), this.#c.sip.transactionTimeoutMs);
  }

  /**
   * Where an in-dialog (or pre-routed) request goes. A first Route naming us with a flow token means
   * "towards the client on that flow"; one naming us without a token means "towards the backend"; the
   * pair of our Record-Route entries is removed together.
   */
  #nextHop(req: SipRequest, routes: string[]): { peer?: Peer; flow?: Flow; drop: number } | undefined {
    const drop = this.#leadingOurs(routes);
    const flowKey = drop > 0 ? routeParam(routes[0]!, 'vcf') : '';
    if (flowKey) {
      const flow = this.#t.flowByKey(flowKey);
      return flow ? { flow, drop } : undefined;
    }
    const next = routes[drop];
    const target = next !== undefined ? uriOf(next) : req.uri;
    if (next === undefined && this.#isOurs(target)) {
      // A client that ignores Record-Route sends in-dialog requests to the address it dialled:
      // the dialog we proxied tells where they go.
      const server = this.#engine.server(this.#dialogs.get(req.callId)?.server ?? '');
      return server ? { peer: { transport: server.sipTransport, address: server.address, port: server.sipPort }, drop } : undefined;
    }
    try {
      const u = parseSipUri(target);
      const transport: Transport = (u.params.get('transport') ?? '').toLowerCase() === 'tcp' ? 'tcp' : 'udp';
      const address = u.params.get('maddr') || u.host;
      // Room systems and backends are reached by address; the connector does no DNS on the hot path.
      if (isIP(address) === 0) return undefined;
      return { peer: { transport, address, port: u.port || 5060 }, drop };
    } catch {
      return undefined;
    }
  }

  /** How many Route values at the top name us (0, 1, or the pair our Record-Route made). */
  #leadingOurs(routes: string[]): number {
    if (routes.length === 0 || !this.#isOurs(routes[0]!)) return 0;
    return routes.length > 1 && this.#isOurs(routes[1]!) ? 2 : 1;
  }

  #isOurs(route: string): boolean {
    try {
      const u = parseSipUri(uriOf(route));
      const port = u.port || 5060;
      const wk = this.#c.wellKnown;
      return (u.host === wk.address && port === wk.sip) || (u.host === this.#t.address && port === this.#t.port);
    } catch {
      return false;
    }
  }

  #onAck(req: SipRequest, flow: Flow): void {
    const stx = this.#tx.servers.get(serverKey(req, 'INVITE'));
    if (stx && stx.state === TxState.Completed) {
      stx.expires = Math.min(stx.expires, Date.now() + 5000);
      return;
    }
    if (stx && stx.state === TxState.Proceeding) return;
    // ACK for a 2xx: its own transaction, forwarded without state along the route. Its arrival times
    // the round trip from the client's network to this POP.
    const waiting = this.#awaitingAck.get(req.callId);
    if (waiting) {
      this.#awaitingAck.delete(req.callId);
      this.#engine.rtt(waiting.ctx, Date.now() - waiting.sentAt);
    }
    if (req.maxForwards === 0) return;
    const routes = routeValues(req);
    const hop = this.#nextHop(req, routes);
    if (!hop) {
      this.#m.dropped.labels('ack_no_route').inc();
      return;
    }
    const maxForwards = req.maxForwards < 0 ? 70 : req.maxForwards - 1;
    const branch = `${this.#branchPrefix}a${(++this.#seq).toString(36)}`;
    if (hop.flow) {
      const f = hop.flow;
      const via = `Via: SIP/2.0/${f.transport.toUpperCase()} ${formatHostPort(f.localAddress, f.localPort)};branch=${branch}`;
      f.send(buildForwardedRequest(req, { top: [via], maxForwards, dropRoutes: hop.drop }));
    } else {
      const p = hop.peer!;
      const via = `Via: SIP/2.0/${p.transport.toUpperCase()} ${formatHostPort(this.#t.address, this.#t.port)};branch=${branch}`;
      this.#t.sendTo(p, buildForwardedRequest(req, { top: [via], maxForwards, dropRoutes: hop.drop }));
    }
    void flow;
  }

  #onCancel(req: SipRequest, flow: Flow): void {
    const stx = this.#tx.servers.get(serverKey(req, 'INVITE'));
    if (!stx) {
      flow.send(buildResponse(req, 481, REASONS[481]!, { toTag: this.#tag() }));
      return;
    }
    flow.send(buildResponse(req, 200, 'OK', { toTag: this.#tag() }));
    if (stx.state !== TxState.Proceeding || stx.cancelled) return;
    stx.cancelled = true;
    const c = stx.client;
    if (!c) {
      this.#respond(stx, 487, REASONS[487]!);
      return;
    }
    if (c.provisional && !c.cancelSent) this.#sendCancel(c);
  }

  #sendCancel(c: ClientTxn): void {
    c.cancelSent = true;
    this.#t.sendTo(c.peer, buildCancelOrAck('CANCEL', c.sent));
  }

  // ---- responses -----------------------------------------------------------------------------

  #onResponse(res: SipResponse): void {
    const via = res.vias[0]!;
    const c = this.#tx.clients.get(`${via.branch}|${res.cseqMethod}`);
    if (!c) {
      if (res.cseqMethod !== 'CANCEL') this.#m.dropped.labels(this.#viaIsOurs(via.host, via.port) ? 'no_transaction' : 'not_our_via').inc();
      return;
    }
    const stx = c.stx;
    const status = res.status;
    if (c.retransmitTimer) {
      clearTimeout(c.retransmitTimer);
      c.retransmitTimer = undefined;
    }
    if (status < 200) {
      if (c.state >= TxState.Completed) return;
      c.state = TxState.Proceeding;
      if (!c.provisional) {
        c.provisional = true;
        if (c.deadline) clearTimeout(c.deadline);
        c.deadline = setTimeout(() => this.#clientFailed(c, 'timeout', 'no final response'), c.method === 'INVITE' ? TIMER_C : this.#c.sip.transactionTimeoutMs);
      }
      if (stx && stx.cancelled && !c.cancelSent && c.method === 'INVITE') this.#sendCancel(c);
      if (status > 100 && stx && stx.state === TxState.Proceeding) this.#sendResponse(stx, buildForwardedResponse(res), status);
      return;
    }
    if (c.method === 'INVITE' && status >= 300) {
      // Hop-by-hop ACK for a non-2xx final, also for its retransmissions.
      this.#t.sendTo(c.peer, buildCancelOrAck('ACK', { ...c.sent, to: headerText(res, H.To) }));
    }
    if (c.state >= TxState.Completed) {
      if (c.state === TxState.Accepted && status < 300 && stx) stx.flow.send(buildForwardedResponse(res));
      return;
    }
    if (c.deadline) clearTimeout(c.deadline);
    c.deadline = undefined;
    const linger = c.peer.transport === 'udp' ? 32_000 : 5_000;
    c.expires = Date.now() + linger;
    c.state = c.method === 'INVITE' && status < 300 ? TxState.Accepted : TxState.Completed;
    if (!stx || stx.state >= TxState.Completed && !(stx.state === TxState.Accepted && status < 300)) return;
    if (c.method === 'INVITE' && status === 503 && !stx.cancelled && c.server && stx.attempt + 1 < stx.candidates.length) {
      stx.attempt++;
      stx.lastFailure = 'status';
      this.#learn(stx, c.server, false, '503');
      this.#m.failovers.inc();
      this.#log.warn({ callId: stx.req.callId, server: c.server.name }, 'backend answered 503, trying the next');
      this.#forwardToCandidate(stx);
      return;
    }
    if (c.method === 'INVITE' && c.server) this.#learn(stx, c.server, status < 500, `status ${status}`);
    if (c.method === 'INVITE' && status < 300 && c.server) this.#dialogStarted(stx, c.server.name);
    if (c.method === 'BYE' && status < 300) this.#dialogEnded(stx.req.callId);
    this.#sendResponse(stx, buildForwardedResponse(res), status);
  }

  #viaIsOurs(host: string, port: number): boolean {
    const p = port || 5060;
    return (host === this.#t.address && p === this.#t.port) || (host === this.#c.wellKnown.address && p === this.#c.wellKnown.sip);
  }

  #dialogStarted(stx: ServerTxn, server: string): void {
    const callId = stx.req.callId;
    if (this.#dialogs.has(callId) || this.#dialogs.size >= 1_000_000) return;
    const units = stx.ctx ? this.#engine.cost(stx.ctx, server) : 1;
    this.#dialogs.set(callId, { server, units, at: Date.now() });
    this.#live.add(server, units);
  }

  #dialogEnded(callId: string): void {
    const d = this.#dialogs.get(callId);
    if (d === undefined) return;
    this.#dialogs.delete(callId);
    this.#live.add(d.server, -d.units);
  }

  #tag(): string {
    return `${this.#branchPrefix.slice(7)}${(++this.#seq).toString(36)}`;
  }
}

function routeValues(req: SipRequest): string[] {
  const out: string[] = [];
  for (const h of req.headers) if (h.id === H.Route) for (const v of splitList(h.value)) if (v) out.push(v);
  return out;
}

/** The URI inside a Route value `<uri>;params`. */
function uriOf(route: string): string {
  try {
    return parseNameAddr(route, 'Route').uri;
  } catch {
    return route;
  }
}

function routeParam(route: string, name: string): string {
  try {
    const u = parseSipUri(uriOf(route));
    return u.params.get(name) ?? '';
  } catch {
    return '';
  }
}

function headerText(msg: SipRequest | SipResponse, id: H): string {
  const line = rawLines(msg, id)[0] ?? '';
  const colon = line.indexOf(':');
  return line.slice(colon + 1).trim();
}

function startsWithAck(raw: Buffer): boolean {
  return raw.length > 4 && raw.toString('latin1', 0, 4) === 'ACK ';
}

/** The domain of the From URI, when it is a name (a SIP domain identifies a customer network). */
function fromDomain(req: SipRequest): string {
  try {
    return parseSipUri(req.from.uri).host;
  } catch {
    return '';
  }
}
