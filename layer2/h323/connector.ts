import type { H323Config } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { AttemptFailure } from '../route/call.js';
import { parseJoinAlias } from '../route/formats.js';
import { h323Identifiers } from '../route/identifiers.js';
import type { Router, Routing } from '../route/router.js';
import { buildFacilityForward, buildReleaseComplete, dialledAlias, setupOf } from './builder.js';
import { Cause, CallState, type Call, type CallerConnection } from './call.js';
import { CallEndings } from './endings.js';
import { H323Err, H323Error } from './errors.js';
import { guidToString, transportAddress } from './h225.js';
import { decodeH323, encodeH323, type H323Message } from './message.js';
import type { H323Metrics } from './metrics.js';
import { messageTypeName, MsgType } from './q931.js';
import { aliasDomain, causeOf, facilityForCaller, isResourceRelease, meetingOf, peekHeader, releaseReasonOf, setupForServer } from './rewrite.js';
import type { H323Transport, SignalConnection, StreamSink } from './transport.js';
import { identifyH323 } from './vendor.js';

/** Calls one caller connection may hold at once (each opens a server connection). */
const MAX_CALLS_PER_CONNECTION = 32;
/** Caller messages kept before the server answers, to send again after a failover. */
const MAX_EARLY = 16;

export interface H323ConnectorOptions {
  h323: H323Config;
  transport: H323Transport;
  router: Router;
  log: Logger;
  metrics: H323Metrics;
}

/**
 * The H.323 call signalling connector of one worker, its wire concerns only. A Setup goes to the
 * router (route/router.ts: an arrival by join alias token or by callIdentifier/conferenceID, else a
 * decision), then the call is proxied to the router's candidates over a connection of its own, with
 * failover until the server alerts or answers, or forwarded with a Facility callForwarded. Each call
 * reference on a caller connection is a call of its own; a message that does not decode ends its call only.
 */
export class H323Connector {
  readonly #c: H323Config;
  readonly #t: H323Transport;
  readonly #router: Router;
  readonly #log: Logger;
  readonly #m: H323Metrics;
  readonly #callers = new Set<CallerConnection>();
  readonly #ends: CallEndings;

  constructor(o: H323ConnectorOptions) {
    this.#c = o.h323;
    this.#t = o.transport;
    this.#router = o.router;
    this.#log = o.log;
    this.#m = o.metrics;
    this.#ends = new CallEndings(o.metrics);
    o.metrics.live.calls = (): number => this.#ends.active;
    o.metrics.live.connections = (): number => this.#callers.size;
  }

  get activeCalls(): number {
    return this.#ends.active;
  }

  /** Release every call both ways (worker shutdown). */
  stop(): void {
    for (const cc of [...this.#callers]) {
      for (const call of [...cc.calls.values()]) this.#ends.releaseBoth(call, Cause.TemporaryFailure, 'shutdown', 'abandoned');
      cc.conn.end();
    }
  }

  /** A caller's connection is ready: where its messages go. */
  accept(conn: SignalConnection): StreamSink {
    const cc: CallerConnection = { conn, calls: new Map() };
    this.#callers.add(cc);
    return {
      message: (b) => this.#safe('caller message', () => this.#fromCaller(cc, b)),
      broken: (err) => this.#safe('caller stream', () => this.#callerBroken(cc, err)),
      closed: () => this.#safe('caller closed', () => this.#callerClosed(cc)),
      idle: () => cc.calls.size === 0,
    };
  }

  // ---- from the caller ----------------------------------------------------------------------------

  #fromCaller(cc: CallerConnection, bytes: Buffer): void {
    let m: H323Message;
    try {
      m = decodeH323(bytes);
    } catch (err) {
      if (!(err instanceof H323Error)) throw err;
      return this.#callerMalformed(cc, bytes, err);
    }
    const q = m.q931;
    if (q.type === MsgType.Setup) this.#m.setupsIn.inc();
    else this.#m.messagesIn.labels(messageTypeName(q.type)).inc();
    // About a call placed to this caller: the connector places none.
    if (q.fromDestination) return this.#m.dropped.labels('wrong_direction').inc();
    const call = cc.calls.get(q.callReference);
    if (q.type === MsgType.Setup) return call ? undefined : this.#setup(cc, m);
    if (!call) {
      this.#m.dropped.labels('unknown_call').inc();
      // Q.931 5.8.3.2: a message for a call reference not in use is answered with Release Complete.
      if (q.type !== MsgType.ReleaseComplete) cc.conn.send(encodeH323(buildReleaseComplete({ callReference: q.callReference, callReferenceLength: q.callReferenceLength, fromDestination: true, cause: Cause.InvalidCallReference })));
      return;
    }
    const release = q.type === MsgType.ReleaseComplete;
    if (call.state === CallState.Deciding || call.state === CallState.Forwarding || call.state === CallState.Connecting) {
      if (release) return this.#ends.end(call, 'caller', 'abandoned');
      if (call.state === CallState.Connecting && call.early.length < MAX_EARLY) call.early.push(bytes);
      return;
    }
    call.leg?.send(bytes);
    if (release) return this.#ends.end(call, 'caller', call.state === CallState.Connected ? undefined : 'abandoned');
    if (call.state < CallState.Alerting && call.early.length < MAX_EARLY) call.early.push(bytes);
  }

  #setup(cc: CallerConnection, m: H323Message): void {
    const s = setupOf(m);
    const q = m.q931;
    if (!s) {
      this.#log.warn({ peer: cc.conn.peer, callReference: q.callReference }, 'Setup without a Setup-UUIE refused');
      return this.#ends.refuse(cc, m, 'malformed', Cause.MandatoryIeMissing, 'undefinedReason');
    }
    if (cc.calls.size >= MAX_CALLS_PER_CONNECTION) return this.#ends.refuse(cc, m, 'too_many_calls', Cause.ResourceUnavailable, 'gatewayResources');
    const guid = s.callIdentifier?.guid;
    const known = guid !== undefined && guid.length === 16 && guid.some((x) => x !== 0);
    const id = known ? guidToString(guid) : `crv-${q.callReference}@${cc.conn.peer}`;
    const call: Call = {
      id, crv: q.callReference, caller: cc, setup: m, state: CallState.Deciding, technique: 'proxy', route: undefined, leg: undefined, early: [],
      proceedingRelayed: false, timer: undefined, startedAt: Date.now(), outcome: undefined, log: this.#log.child({ callId: id }),
    };
    this.#ends.opened(call);
    // A room system dialling the H.323 way in of a join page: its alias names the meeting and the token.
    const dialled = meetingOf(dialledAlias(m));
    const join = parseJoinAlias(dialled);
    const conference = s.conferenceID.length === 16 && s.conferenceID.some((x) => x !== 0) ? guidToString(s.conferenceID) : '';
    const r: Routing = this.#router.route(
      {
        protocol: 'h323', callId: id, identity: identifyH323(s.sourceInfo.vendor), source: cc.conn.remoteAddress, domain: aliasDomain(s.sourceAddress),
        meeting: join ? join.meeting : dialled, token: join?.token ?? '', identifiers: h323Identifiers(known ? id : '', conference),
        // The Setup's call identifier is what the caller keeps when it follows: without one, no redirect.
        redirectable: known,
      },
      'h323',
    );
    if (r.action === 'refuse') {
      call.log.warn({ pop: r.ctx.decision.pop, reasons: r.ctx.decision.reasons }, 'no H.323 server for this call');
      this.#m.rejected.labels('no_server').inc();
      this.#ends.releaseCaller(call, Cause.NoCircuit, 'gatewayResources');
      return this.#ends.end(call, 'no_server', 'failed');
    }
    if (r.action === 'redirect') return this.#forward(call, r);
    call.route = r.call;
    call.technique = r.call.technique;
    this.#attempt(call);
  }

  /** Facility callForwarded to a connector of the chosen POP, once the redirect's record is visible to every process. */
  #forward(call: Call, r: Extract<Routing, { action: 'redirect' }>): void {
    call.technique = 'redirect';
    this.#router.afterIssued(() =>
      this.#safe('forward', () => {
        if (call.state !== CallState.Deciding) return;
        call.state = CallState.Forwarding;
        call.caller.conn.send(encodeH323(buildFacilityForward(call.setup, transportAddress(r.to.address, r.to.port))));
        this.#ends.setupDone(call, 'redirected');
        call.log.info({ server: r.server.name, to: `${r.to.address}:${r.to.port}`, token: r.id }, 'call forwarded (Facility callForwarded)');
        call.timer = setTimeout(() => this.#safe('forward release', () => {
          this.#ends.releaseCaller(call, Cause.Normal, 'facilityCallDeflection');
          this.#ends.end(call, 'forwarded');
        }), this.#c.forwardReleaseMs);
      }),
    );
  }

  // ---- proxy: the server leg ----------------------------------------------------------------------

  #attempt(call: Call): void {
    const server = call.route!.server;
    call.state = CallState.Connecting;
    const leg: SignalConnection = this.#t.connect(server.address, server.h323Port, {
      opened: () => this.#safe('server opened', () => this.#legOpened(call, leg)),
      message: (b) => this.#safe('server message', () => this.#fromServer(call, leg, b)),
      broken: (err) => this.#safe('server stream', () => this.#legLost(call, leg, 'malformed', `${err.code}: ${err.message}`)),
      closed: (err) => this.#safe('server closed', () => this.#legLost(call, leg, call.state === CallState.Connecting ? 'refused' : 'closed', err?.message ?? 'connection closed')),
    }, this.#c.connectTimeoutMs);
    call.leg = leg;
  }

  #legOpened(call: Call, leg: SignalConnection): void {
    if (call.leg !== leg || call.state !== CallState.Connecting) return;
    const s = call.route!.server;
    call.state = CallState.Trying;
    leg.send(setupForServer(call.setup, s.address, s.h323Port));
    for (const b of call.early) leg.send(b);
    call.timer = setTimeout(() => this.#safe('setup timeout', () => this.#attemptFailed(call, 'timeout', `no Alerting or Connect within ${this.#c.setupTimeoutMs} ms`)), this.#c.setupTimeoutMs);
  }

  #fromServer(call: Call, leg: SignalConnection, bytes: Buffer): void {
    if (call.leg !== leg) return;
    let m: H323Message;
    try {
      m = decodeH323(bytes);
    } catch (err) {
      if (!(err instanceof H323Error)) throw err;
      this.#m.dropped.labels('server_malformed').inc();
      return this.#legLost(call, leg, 'malformed', `${err.code}: ${err.message}`);
    }
    const q = m.q931;
    if (q.callReference !== call.crv || !q.fromDestination) return this.#m.dropped.labels('server_unknown_call').inc();
    const caller = call.caller.conn;
    switch (q.type) {
      case MsgType.CallProceeding:
        if (call.state === CallState.Trying) call.state = CallState.Proceeding;
        if (!call.proceedingRelayed) caller.send(bytes);
        call.proceedingRelayed = true;
        return;
      case MsgType.Alerting:
        if (call.state < CallState.Alerting) {
          // The server took the call: a success, timed from this attempt's start; no failover from here.
          call.route!.answered('alerting');
          call.state = CallState.Alerting;
          this.#ends.clearTimer(call);
          call.timer = setTimeout(() => this.#safe('answer timeout', () => this.#ends.releaseBoth(call, Cause.TimerExpiry, 'timeout', 'failed')), this.#c.answerTimeoutMs);
        }
        return caller.send(bytes);
      case MsgType.Connect:
        if (call.state < CallState.Connected) {
          call.route!.answered('connect');
          call.route!.establish();
          this.#ends.clearTimer(call);
          call.state = CallState.Connected;
          this.#ends.setupDone(call, 'connected');
        }
        return caller.send(bytes);
      case MsgType.ReleaseComplete:
        if (call.state < CallState.Alerting && isResourceRelease(m)) {
          call.leg?.end();
          return this.#attemptFailed(call, 'unavailable', `Release Complete, cause ${causeOf(m) ?? 'none'}, reason ${releaseReasonOf(m) ?? 'none'}`);
        }
        if (call.state < CallState.Alerting) call.route!.answered(`released, cause ${causeOf(m) ?? 'none'}`);
        caller.send(bytes);
        return this.#ends.end(call, 'server', call.state < CallState.Connected ? 'rejected' : undefined);
      case MsgType.Facility:
        return caller.send(facilityForCaller(m, { address: caller.localAddress, port: caller.localPort }) ?? bytes);
      default:
        caller.send(bytes);
    }
  }

  /** The server connection failed or went away. */
  #legLost(call: Call, leg: SignalConnection, why: AttemptFailure, detail: string): void {
    if (call.leg !== leg) return;
    if (call.state < CallState.Alerting) return this.#attemptFailed(call, why, detail);
    call.log.warn({ server: call.route?.server.name, why, detail }, 'server connection lost during the call');
    this.#ends.releaseBoth(call, Cause.TemporaryFailure, 'server_lost', 'failed');
  }

  /** This server did not take the call: the next candidate, or a Release Complete to the caller. */
  #attemptFailed(call: Call, why: AttemptFailure, detail: string): void {
    if (call.state >= CallState.Alerting) return;
    this.#ends.clearTimer(call);
    const leg = call.leg;
    call.leg = undefined;
    if (leg && why === 'timeout') this.#ends.releaseServer(call, leg, Cause.TimerExpiry);
    if (leg && (why === 'timeout' || why === 'unavailable')) leg.end();
    else leg?.destroy();
    const route = call.route!;
    route.failed(why, detail);
    call.log.warn({ server: route.server.name, peer: `${route.server.address}:${route.server.h323Port}`, why, detail }, 'server failed');
    if (route.next()) {
      this.#m.failovers.inc();
      return this.#attempt(call);
    }
    if (why === 'timeout') this.#ends.releaseCaller(call, Cause.TimerExpiry, 'unreachableDestination');
    else this.#ends.releaseCaller(call, Cause.NoCircuit, 'gatewayResources');
    this.#ends.end(call, 'no_server', 'failed');
  }

  // ---- bad input and lost connections -------------------------------------------------------------

  /** A message from a caller that does not decode: its call ends (or the connection, when it has none). */
  #callerMalformed(cc: CallerConnection, bytes: Buffer, err: H323Error): void {
    const h = peekHeader(bytes);
    const call = h && !h.fromDestination ? cc.calls.get(h.crv) : undefined;
    this.#log.warn({ code: err.code, reason: err.message, peer: cc.conn.peer, callId: call?.id, callReference: h?.crv }, 'malformed H.225 message');
    if (call) return this.#ends.releaseBoth(call, Cause.InvalidIeContents, 'malformed', 'malformed');
    if (h && h.type === MsgType.Setup && !h.fromDestination) {
      this.#m.rejected.labels('malformed').inc();
      cc.conn.send(encodeH323(buildReleaseComplete({ callReference: h.crv, callReferenceLength: bytes[1]!, fromDestination: true, cause: Cause.InvalidIeContents, reason: 'undefinedReason' })));
    } else this.#m.dropped.labels('malformed').inc();
    // Nothing says which call it was about: with no call the connection goes, else the calls go on.
    if (cc.calls.size === 0) cc.conn.end();
  }

  #callerBroken(cc: CallerConnection, err: H323Error): void {
    this.#log.warn({ code: err.code, reason: err.message, peer: cc.conn.peer, calls: cc.calls.size }, 'H.225 stream from a caller cannot be framed: connection closed');
    if (cc.calls.size === 0) this.#m.dropped.labels(err.code === H323Err.TooLarge ? 'too_large' : err.code === H323Err.SlowSender ? 'slow_sender' : 'tpkt').inc();
    for (const call of [...cc.calls.values()]) this.#ends.releaseBoth(call, Cause.InvalidIeContents, 'malformed', 'malformed');
  }

  #callerClosed(cc: CallerConnection): void {
    this.#callers.delete(cc);
    for (const call of [...cc.calls.values()]) {
      if (call.leg && call.state >= CallState.Trying) this.#ends.releaseServer(call, call.leg, call.state === CallState.Connected ? Cause.Normal : Cause.TemporaryFailure);
      this.#ends.end(call, 'caller_lost', 'abandoned');
    }
  }

  #safe(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // A bug reached by one message must not take the other calls of this worker down.
      this.#m.dropped.labels('internal_error').inc();
      this.#log.error({ err, what }, 'internal error in the H.323 connector');
    }
  }
}
