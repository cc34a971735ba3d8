import type { H323Config, ServerConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { ServerChoice, Technique } from '../decide/types.js';
import type { CallContext, LearningEngine, RequestInfo } from '../learn/engine.js';
import type { LiveView } from '../learn/live.js';
import { buildFacilityForward, buildReleaseComplete, buildReleaseFor, dialledAlias, setupOf } from './builder.js';
import { CallState, STATE_NAMES, type AttemptFailure, type Call, type CallerConnection, type EndReason, type SetupOutcome } from './call.js';
import { H323Err, H323Error } from './errors.js';
import { guidToString, transportAddress } from './h225.js';
import { decodeH323, encodeH323, type H323Message } from './message.js';
import type { H323Metrics } from './metrics.js';
import { messageTypeName, MsgType } from './q931.js';
import { parseJoinAlias } from '../web/join-alias.js';
import { aliasDomain, causeOf, facilityForCaller, isResourceRelease, meetingOf, peekHeader, releaseReasonOf, setupForServer } from './rewrite.js';
import type { H323Transport, SignalConnection, StreamSink } from './transport.js';
import { identifyH323 } from './vendor.js';

/** Calls one caller connection may hold at once (each opens a server connection). */
const MAX_CALLS_PER_CONNECTION = 32;
/** Caller messages kept before the server answers, to send again after a failover. */
const MAX_EARLY = 16;
/** How long a redirect waits for its record to be committed before the Facility goes anyway. */
const RECORD_WAIT_MS = 1000;

/** Q.931 causes the connector itself uses. */
const enum Cause {
  Normal = 16,
  NoCircuit = 34,
  TemporaryFailure = 41,
  ResourceUnavailable = 47,
  InvalidCallReference = 81,
  MandatoryIeMissing = 96,
  InvalidIeContents = 100,
  TimerExpiry = 102,
}

export interface H323ConnectorOptions {
  h323: H323Config;
  transport: H323Transport;
  log: Logger;
  metrics: H323Metrics;
  engine: LearningEngine;
  live: LiveView;
}

/**
 * The H.323 call signalling connector of one worker. A Setup is identified (vendor, aliases,
 * network), then either recognised as the arrival of a redirect (its call identifier is a redirect
 * token) or decided; the call is then proxied to the chosen server over a connection of its own,
 * with failover until the server alerts or answers, or forwarded with a Facility callForwarded.
 * Each call reference on a caller connection is a call of its own; a message that does not decode
 * ends its call only.
 */
export class H323Connector {
  readonly #c: H323Config;
  readonly #t: H323Transport;
  readonly #log: Logger;
  readonly #m: H323Metrics;
  readonly #engine: LearningEngine;
  readonly #live: LiveView;
  readonly #callers = new Set<CallerConnection>();
  #active = 0;

  constructor(o: H323ConnectorOptions) {
    this.#c = o.h323;
    this.#t = o.transport;
    this.#log = o.log;
    this.#m = o.metrics;
    this.#engine = o.engine;
    this.#live = o.live;
    o.metrics.live.calls = (): number => this.#active;
    o.metrics.live.connections = (): number => this.#callers.size;
  }

  /** Calls in progress (setting up or established). */
  get activeCalls(): number {
    return this.#active;
  }

  /** Release every call both ways (worker shutdown). */
  stop(): void {
    for (const cc of [...this.#callers]) {
      for (const call of [...cc.calls.values()]) this.#releaseBoth(call, Cause.TemporaryFailure, 'undefinedReason', 'shutdown', 'abandoned');
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
      this.#callerMalformed(cc, bytes, err);
      return;
    }
    const q = m.q931;
    if (q.type === MsgType.Setup) this.#m.setupsIn.inc();
    else this.#m.messagesIn.labels(messageTypeName(q.type)).inc();
    if (q.fromDestination) {
      // About a call placed to this caller: the connector places none.
      this.#m.dropped.labels('wrong_direction').inc();
      return;
    }
    const call = cc.calls.get(q.callReference);
    if (q.type === MsgType.Setup) {
      if (!call) this.#setup(cc, m);
      return;
    }
    if (!call) {
      this.#m.dropped.labels('unknown_call').inc();
      // Q.931 5.8.3.2: a message for a call reference not in use is answered with Release Complete.
      if (q.type !== MsgType.ReleaseComplete) cc.conn.send(encodeH323(buildReleaseComplete({ callReference: q.callReference, callReferenceLength: q.callReferenceLength, fromDestination: true, cause: Cause.InvalidCallReference })));
      return;
    }
    this.#callerMessage(call, m, bytes);
  }

  #callerMessage(call: Call, m: H323Message, bytes: Buffer): void {
    const release = m.q931.type === MsgType.ReleaseComplete;
    switch (call.state) {
      case CallState.Deciding:
      case CallState.Forwarding:
        if (release) this.#end(call, 'caller', 'abandoned');
        return;
      case CallState.Connecting:
        if (release) return this.#end(call, 'caller', 'abandoned');
        if (call.early.length < MAX_EARLY) call.early.push(bytes);
        return;
      default:
        call.leg?.send(bytes);
        if (release) return this.#end(call, 'caller', call.state === CallState.Connected ? undefined : 'abandoned');
        if (call.state < CallState.Alerting && call.early.length < MAX_EARLY) call.early.push(bytes);
    }
  }

  #setup(cc: CallerConnection, m: H323Message): void {
    const s = setupOf(m);
    const q = m.q931;
    if (!s) {
      this.#refuse(cc, m, 'malformed', Cause.MandatoryIeMissing, 'undefinedReason');
      this.#log.warn({ peer: cc.conn.peer, callReference: q.callReference }, 'Setup without a Setup-UUIE refused');
      return;
    }
    if (cc.calls.size >= MAX_CALLS_PER_CONNECTION) {
      this.#refuse(cc, m, 'too_many_calls', Cause.ResourceUnavailable, 'gatewayResources');
      return;
    }
    const guid = s.callIdentifier?.guid;
    const known = guid !== undefined && guid.length === 16 && guid.some((x) => x !== 0);
    const id = known ? guidToString(guid) : `crv-${q.callReference}@${cc.conn.peer}`;
    const now = Date.now();
    const call: Call = {
      id, token: known ? id : '', crv: q.callReference, caller: cc, setup: m, state: CallState.Deciding, technique: 'proxy', ctx: undefined,
      candidates: [], attempt: 0, server: undefined, leg: undefined, early: [], proceedingRelayed: false, learned: false, lastFailure: undefined,
      units: 0, timer: undefined, startedAt: now, attemptAt: now, outcome: undefined, log: this.#log.child({ callId: id }),
    };
    cc.calls.set(call.crv, call);
    this.#active++;
    const dialled = meetingOf(dialledAlias(m));
    // A room system dialling the H.323 way in of a join page: its alias names meeting, token and server.
    const join = parseJoinAlias(dialled);
    const info: RequestInfo = {
      protocol: 'h323',
      callId: id,
      identity: identifyH323(s.sourceInfo.vendor),
      source: cc.conn.remoteAddress,
      domain: aliasDomain(s.sourceAddress),
      meeting: join ? join.meeting : dialled,
    };
    if (join) {
      const arrived = this.#engine.arrival(join.token, info, join.server, 'uri');
      const candidates = arrived ? this.#h323(arrived.decision.candidates) : [];
      if (arrived && candidates.length > 0) return this.#carry(call, arrived, candidates, arrived.decision.technique);
    }
    if (call.token && this.#engine.isRedirect(call.token)) {
      // A redirected caller arriving: carried to the server its redirect named.
      const arrived = this.#engine.arrival(call.token, info, '');
      const candidates = arrived ? this.#h323(arrived.decision.candidates) : [];
      if (arrived && candidates.length > 0) return this.#carry(call, arrived, candidates, arrived.decision.technique);
    }
    const ctx = this.#engine.decide(info);
    const d = ctx.decision;
    const candidates = this.#h323(d.candidates);
    call.ctx = ctx;
    if (candidates.length === 0) {
      call.log.warn({ pop: d.pop, reasons: d.reasons }, 'no H.323 server for this call');
      this.#m.rejected.labels('no_server').inc();
      this.#releaseCaller(call, Cause.NoCircuit, 'gatewayResources');
      return this.#end(call, 'no_server', 'failed');
    }
    if (d.technique === 'redirect') {
      if (call.token) return this.#forward(call, candidates[0]!);
      call.log.info('the Setup has no call identifier to carry a redirect token: proxied instead');
    }
    this.#carry(call, ctx, candidates, d.pop === this.#engine.localPop ? 'local' : 'proxy');
  }

  #h323(choices: readonly ServerChoice[]): ServerConfig[] {
    const out: ServerConfig[] = [];
    for (const c of choices) {
      const s = this.#engine.server(c.server);
      if (s && s.h323Port > 0) out.push(s);
    }
    return out;
  }

  #carry(call: Call, ctx: CallContext, candidates: ServerConfig[], technique: Technique): void {
    call.ctx = ctx;
    call.candidates = candidates;
    call.technique = technique;
    this.#attempt(call);
  }

  // ---- forward (redirect) -------------------------------------------------------------------------

  #forward(call: Call, server: ServerConfig): void {
    call.technique = 'redirect';
    this.#engine.redirected(call.ctx!, server.name, call.token);
    const at = this.#engine.arrivalPoint(server.name, call.token);
    const target = at && at.h323Port > 0 ? { address: at.address, port: at.h323Port } : { address: server.address, port: server.h323Port };
    // The record must be visible to the process the caller arrives at before the caller can get there.
    let waited = false;
    const go = (): void => {
      if (waited) return;
      waited = true;
      clearTimeout(cap);
      this.#safe('forward', () => this.#sendForward(call, server, target));
    };
    const cap = setTimeout(go, RECORD_WAIT_MS);
    this.#engine.written().then(go, go);
  }

  #sendForward(call: Call, server: ServerConfig, target: { address: string; port: number }): void {
    if (call.state !== CallState.Deciding) return;
    call.state = CallState.Forwarding;
    call.caller.conn.send(encodeH323(buildFacilityForward(call.setup, transportAddress(target.address, target.port))));
    this.#setupDone(call, 'redirected');
    call.log.info({ server: server.name, to: `${target.address}:${target.port}`, token: call.token }, 'call forwarded (Facility callForwarded)');
    call.timer = setTimeout(() => {
      this.#safe('forward release', () => {
        this.#releaseCaller(call, Cause.Normal, 'facilityCallDeflection');
        this.#end(call, 'forwarded');
      });
    }, this.#c.forwardReleaseMs);
  }

  // ---- proxy: the server leg ----------------------------------------------------------------------

  #attempt(call: Call): void {
    const server = call.candidates[call.attempt]!;
    call.server = server;
    call.state = CallState.Connecting;
    call.learned = false;
    call.attemptAt = Date.now();
    const sink: StreamSink = {
      opened: () => this.#safe('server opened', () => this.#legOpened(call, leg)),
      message: (b) => this.#safe('server message', () => this.#fromServer(call, leg, b)),
      broken: (err) => this.#safe('server stream', () => this.#legLost(call, leg, 'malformed', `${err.code}: ${err.message}`)),
      closed: (err) => this.#safe('server closed', () => this.#legLost(call, leg, call.state === CallState.Connecting ? 'refused' : 'closed', err?.message ?? 'connection closed')),
    };
    const leg = this.#t.connect(server.address, server.h323Port, sink, this.#c.connectTimeoutMs);
    call.leg = leg;
  }

  #legOpened(call: Call, leg: SignalConnection): void {
    if (call.leg !== leg || call.state !== CallState.Connecting) return;
    const s = call.server!;
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
    if (q.callReference !== call.crv || !q.fromDestination) {
      this.#m.dropped.labels('server_unknown_call').inc();
      return;
    }
    const caller = call.caller.conn;
    switch (q.type) {
      case MsgType.CallProceeding:
        if (call.state === CallState.Trying) call.state = CallState.Proceeding;
        if (!call.proceedingRelayed) {
          call.proceedingRelayed = true;
          caller.send(bytes);
        }
        return;
      case MsgType.Alerting:
        if (call.state < CallState.Alerting) {
          this.#answered(call, 'alerting');
          call.state = CallState.Alerting;
          this.#clearTimer(call);
          call.timer = setTimeout(() => this.#safe('answer timeout', () => this.#releaseBoth(call, Cause.TimerExpiry, 'undefinedReason', 'timeout', 'failed')), this.#c.answerTimeoutMs);
        }
        caller.send(bytes);
        return;
      case MsgType.Connect:
        if (call.state < CallState.Connected) this.#established(call);
        caller.send(bytes);
        return;
      case MsgType.ReleaseComplete:
        return this.#serverReleased(call, m, bytes);
      case MsgType.Facility:
        caller.send(facilityForCaller(m, { address: caller.localAddress, port: caller.localPort }) ?? bytes);
        return;
      default:
        caller.send(bytes);
    }
  }

  /** The server took the call (alerted, answered, or released it for a reason of its own): a success for the learning. */
  #answered(call: Call, detail: string): void {
    if (call.learned || !call.ctx || !call.server) return;
    call.learned = true;
    this.#engine.carried(call.ctx, call.server.name, call.technique, true, Date.now() - call.attemptAt, detail);
  }

  #established(call: Call): void {
    this.#answered(call, 'connect');
    this.#clearTimer(call);
    call.state = CallState.Connected;
    const server = call.server!;
    call.units = call.ctx ? this.#engine.cost(call.ctx, server.name) : 1;
    this.#live.add(server.name, call.units);
    this.#setupDone(call, 'connected');
  }

  #serverReleased(call: Call, m: H323Message, bytes: Buffer): void {
    if (call.state < CallState.Alerting && isResourceRelease(m)) {
      call.leg?.end();
      return this.#attemptFailed(call, 'resource', `Release Complete, cause ${causeOf(m) ?? 'none'}, reason ${releaseReasonOf(m) ?? 'none'}`);
    }
    if (call.state < CallState.Alerting) this.#answered(call, `released, cause ${causeOf(m) ?? 'none'}`);
    call.caller.conn.send(bytes);
    this.#end(call, 'server', call.state < CallState.Connected ? 'rejected' : undefined);
  }

  /** The server connection failed or went away. */
  #legLost(call: Call, leg: SignalConnection, why: AttemptFailure, detail: string): void {
    if (call.leg !== leg) return;
    if (call.state < CallState.Alerting) return this.#attemptFailed(call, why, detail);
    call.log.warn({ server: call.server?.name, why, detail }, 'server connection lost during the call');
    this.#releaseBoth(call, Cause.TemporaryFailure, 'undefinedReason', 'server_lost', 'failed');
  }

  /** This server did not take the call: the next candidate, or a Release Complete to the caller. */
  #attemptFailed(call: Call, why: AttemptFailure, detail: string): void {
    if (call.state >= CallState.Alerting) return;
    this.#clearTimer(call);
    const leg = call.leg;
    call.leg = undefined;
    if (leg) {
      if (why === 'timeout') this.#releaseServer(call, leg, Cause.TimerExpiry);
      if (why === 'timeout' || why === 'resource') leg.end();
      else leg.destroy();
    }
    const server = call.server!;
    if (!call.learned && call.ctx) {
      call.learned = true;
      this.#engine.carried(call.ctx, server.name, call.technique, false, Date.now() - call.attemptAt, `${why}: ${detail}`);
    }
    call.lastFailure = why;
    call.log.warn({ server: server.name, peer: `${server.address}:${server.h323Port}`, why, detail }, 'server failed');
    if (call.attempt + 1 < call.candidates.length) {
      call.attempt++;
      this.#m.failovers.inc();
      return this.#attempt(call);
    }
    if (why === 'timeout') this.#releaseCaller(call, Cause.TimerExpiry, 'unreachableDestination');
    else this.#releaseCaller(call, Cause.NoCircuit, 'gatewayResources');
    this.#end(call, 'no_server', 'failed');
  }

  // ---- bad input and lost connections -------------------------------------------------------------

  /** A message from a caller that does not decode: its call ends (or the connection, when it has none). */
  #callerMalformed(cc: CallerConnection, bytes: Buffer, err: H323Error): void {
    const h = peekHeader(bytes);
    const call = h && !h.fromDestination ? cc.calls.get(h.crv) : undefined;
    this.#log.warn({ code: err.code, reason: err.message, peer: cc.conn.peer, callId: call?.id, callReference: h?.crv }, 'malformed H.225 message');
    if (call) return this.#releaseBoth(call, Cause.InvalidIeContents, 'undefinedReason', 'malformed', 'malformed');
    if (h && h.type === MsgType.Setup && !h.fromDestination) {
      this.#m.rejected.labels('malformed').inc();
      cc.conn.send(encodeH323(buildReleaseComplete({ callReference: h.crv, callReferenceLength: bytes[1]!, fromDestination: true, cause: Cause.InvalidIeContents, reason: 'undefinedReason' })));
      if (cc.calls.size === 0) cc.conn.end();
      return;
    }
    this.#m.dropped.labels('malformed').inc();
    // Nothing says which call it was about: with no call the connection goes, else the calls go on.
    if (cc.calls.size === 0) cc.conn.end();
  }

  #callerBroken(cc: CallerConnection, err: H323Error): void {
    this.#log.warn({ code: err.code, reason: err.message, peer: cc.conn.peer, calls: cc.calls.size }, 'H.225 stream from a caller cannot be framed: connection closed');
    if (cc.calls.size === 0) this.#m.dropped.labels(err.code === H323Err.TooLarge ? 'too_large' : err.code === H323Err.SlowSender ? 'slow_sender' : 'tpkt').inc();
    for (const call of [...cc.calls.values()]) this.#releaseBoth(call, Cause.InvalidIeContents, 'undefinedReason', 'malformed', 'malformed');
  }

  #callerClosed(cc: CallerConnection): void {
    this.#callers.delete(cc);
    for (const call of [...cc.calls.values()]) {
      if (call.leg && call.state >= CallState.Trying) this.#releaseServer(call, call.leg, call.state === CallState.Connected ? Cause.Normal : Cause.TemporaryFailure);
      this.#end(call, 'caller_lost', 'abandoned');
    }
  }

  // ---- endings ------------------------------------------------------------------------------------

  /** Release Complete to the caller and to the server, and the call is over. */
  #releaseBoth(call: Call, cause: number, reason: string, why: EndReason, outcome: SetupOutcome): void {
    if (call.state === CallState.Released) return;
    this.#releaseCaller(call, cause, reason);
    if (call.leg && call.state >= CallState.Trying) this.#releaseServer(call, call.leg, cause);
    this.#end(call, why, outcome);
  }

  #releaseCaller(call: Call, cause: number, reason: string): void {
    call.caller.conn.send(encodeH323(buildReleaseFor(call.setup, reason, cause)));
  }

  #releaseServer(call: Call, leg: SignalConnection, cause: number): void {
    const guid = setupOf(call.setup)?.callIdentifier?.guid;
    leg.send(encodeH323(buildReleaseComplete({ callReference: call.crv, callReferenceLength: call.setup.q931.callReferenceLength, fromDestination: false, cause, ...(guid ? { callIdentifier: guid } : {}) })));
  }

  #refuse(cc: CallerConnection, setup: H323Message, reason: string, cause: number, rcReason: string): void {
    this.#m.rejected.labels(reason).inc();
    cc.conn.send(encodeH323(buildReleaseFor(setup, rcReason, cause)));
    if (cc.calls.size === 0) cc.conn.end();
  }

  /** Counts the setup outcome once, with its latency. */
  #setupDone(call: Call, outcome: SetupOutcome): void {
    if (call.outcome) return;
    call.outcome = outcome;
    const ms = Date.now() - call.startedAt;
    this.#m.calls.labels(call.technique, outcome).inc();
    this.#m.setupSeconds.observe(ms / 1000);
    call.log.info({ outcome, technique: call.technique, server: call.server?.name, setupMs: ms, attempts: call.attempt + 1 }, 'call outcome');
  }

  /** The call is over; `why` is counted, `outcome` too when its setup had none yet. */
  #end(call: Call, why: EndReason, outcome?: SetupOutcome): void {
    if (call.state === CallState.Released) return;
    const was = call.state;
    call.state = CallState.Released;
    this.#m.ends.labels(why).inc();
    this.#clearTimer(call);
    if (outcome) this.#setupDone(call, outcome);
    const leg = call.leg;
    call.leg = undefined;
    if (leg) {
      if (was === CallState.Connecting) leg.destroy();
      else leg.end();
    }
    if (was === CallState.Connected && call.server) this.#live.add(call.server.name, -call.units);
    const cc = call.caller;
    if (cc.calls.get(call.crv) === call) {
      cc.calls.delete(call.crv);
      this.#active--;
    }
    call.log.debug({ state: STATE_NAMES[was], why }, 'call released');
    // The last call on a connection ends it (no maintainConnection from the connector).
    if (cc.calls.size === 0) cc.conn.end();
  }

  #clearTimer(call: Call): void {
    if (call.timer) {
      clearTimeout(call.timer);
      call.timer = undefined;
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
