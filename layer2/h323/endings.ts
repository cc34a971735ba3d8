import { buildReleaseComplete, buildReleaseFor, setupOf } from './builder.js';
import { CallState, STATE_NAMES, type Call, type CallerConnection, type EndReason, type SetupOutcome } from './call.js';
import { encodeH323, type H323Message } from './message.js';
import type { H323Metrics } from './metrics.js';
import type { SignalConnection } from './transport.js';

/**
 * How calls of the connector end: the Release Complete messages it originates (to the caller, to the
 * server, refusing a Setup), the setup outcome counted once, the end of a call with its reason —
 * its capacity units given back, its server leg closed, the caller connection closed with its last
 * call — and the count of calls in progress.
 */
export class CallEndings {
  readonly #m: H323Metrics;
  #active = 0;

  constructor(metrics: H323Metrics) {
    this.#m = metrics;
  }

  /** Calls in progress (setting up or established). */
  get active(): number {
    return this.#active;
  }

  /** A new call on its caller connection. */
  opened(call: Call): void {
    call.caller.calls.set(call.crv, call);
    this.#active++;
  }

  /** Release Complete to the caller and to the server, and the call is over. */
  releaseBoth(call: Call, cause: number, why: EndReason, outcome: SetupOutcome): void {
    if (call.state === CallState.Released) return;
    this.releaseCaller(call, cause, 'undefinedReason');
    if (call.leg && call.state >= CallState.Trying) this.releaseServer(call, call.leg, cause);
    this.end(call, why, outcome);
  }

  releaseCaller(call: Call, cause: number, reason: string): void {
    call.caller.conn.send(encodeH323(buildReleaseFor(call.setup, reason, cause)));
  }

  releaseServer(call: Call, leg: SignalConnection, cause: number): void {
    const guid = setupOf(call.setup)?.callIdentifier?.guid;
    leg.send(encodeH323(buildReleaseComplete({ callReference: call.crv, callReferenceLength: call.setup.q931.callReferenceLength, fromDestination: false, cause, ...(guid ? { callIdentifier: guid } : {}) })));
  }

  /** A Setup refused before it became a call. */
  refuse(cc: CallerConnection, setup: H323Message, reason: string, cause: number, rcReason: string): void {
    this.#m.rejected.labels(reason).inc();
    cc.conn.send(encodeH323(buildReleaseFor(setup, rcReason, cause)));
    if (cc.calls.size === 0) cc.conn.end();
  }

  /** Counts the setup outcome once, with its latency. */
  setupDone(call: Call, outcome: SetupOutcome): void {
    if (call.outcome) return;
    call.outcome = outcome;
    const ms = Date.now() - call.startedAt;
    this.#m.calls.labels(call.technique, outcome).inc();
    this.#m.setupSeconds.observe(ms / 1000);
    call.log.info({ outcome, technique: call.technique, server: call.route?.server.name, setupMs: ms, attempts: (call.route?.attempt ?? 0) + 1 }, 'call outcome');
  }

  /** The call is over; `why` is counted, `outcome` too when its setup had none yet. */
  end(call: Call, why: EndReason, outcome?: SetupOutcome): void {
    if (call.state === CallState.Released) return;
    const was = call.state;
    call.state = CallState.Released;
    this.#m.ends.labels(why).inc();
    this.clearTimer(call);
    if (outcome) this.setupDone(call, outcome);
    const leg = call.leg;
    call.leg = undefined;
    if (was === CallState.Connecting) leg?.destroy();
    else leg?.end();
    call.route?.end();
    const cc = call.caller;
    if (cc.calls.get(call.crv) === call) {
      cc.calls.delete(call.crv);
      this.#active--;
    }
    call.log.debug({ state: STATE_NAMES[was], why }, 'call released');
    // The last call on a connection ends it (no maintainConnection from the connector).
    if (cc.calls.size === 0) cc.conn.end();
  }

  clearTimer(call: Call): void {
    if (call.timer) clearTimeout(call.timer);
    call.timer = undefined;
  }
}
