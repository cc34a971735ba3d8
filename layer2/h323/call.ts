import type { Logger } from '../../shared/logger.js';
import type { Technique } from '../decide/types.js';
import type { RoutedCall } from '../route/call.js';
import type { H323Message } from './message.js';
import type { SignalConnection } from './transport.js';

/**
 * The life of one call through the connector (see docs/h323.md, "Call states", for the diagram). A call is
 * one call reference on one caller connection; its server leg is a connection of its own.
 */
export const enum CallState {
  /** Setup read; deciding, or waiting for the redirect record to be written. */
  Deciding = 0,
  /** Opening the TCP connection to the current candidate server. */
  Connecting = 1,
  /** Setup sent to the server; no answer yet. */
  Trying = 2,
  /** The server sent Call Proceeding. */
  Proceeding = 3,
  /** The server sent Alerting: no more failover from here. */
  Alerting = 4,
  /** The server sent Connect: the call is established. */
  Connected = 5,
  /** Facility callForwarded sent; waiting for the caller to release. */
  Forwarding = 6,
  /** Gone: Release Complete sent or received, or a socket lost. */
  Released = 7,
}

export const STATE_NAMES = ['deciding', 'connecting', 'trying', 'proceeding', 'alerting', 'connected', 'forwarding', 'released'] as const;

/** How a call's setup ended, for `vcp_h323_calls_total{outcome}`. */
export type SetupOutcome = 'connected' | 'rejected' | 'redirected' | 'failed' | 'abandoned' | 'malformed';

/**
 * Why a call ended, for `vcp_h323_call_ends_total{reason}`: a Release Complete from the caller or
 * the server, the caller's or the server's connection lost, a message that did not decode, a
 * timer, no server left to try, a forward completed, the worker stopping.
 */
export type EndReason = 'caller' | 'server' | 'caller_lost' | 'server_lost' | 'malformed' | 'timeout' | 'no_server' | 'forwarded' | 'shutdown';

/** Q.931 causes the connector itself uses. */
export const enum Cause {
  Normal = 16,
  NoCircuit = 34,
  TemporaryFailure = 41,
  ResourceUnavailable = 47,
  InvalidCallReference = 81,
  MandatoryIeMissing = 96,
  InvalidIeContents = 100,
  TimerExpiry = 102,
}

/** The caller side of a call: one accepted connection and its calls by call reference. */
export interface CallerConnection {
  conn: SignalConnection;
  calls: Map<number, Call>;
}

export interface Call {
  /** Canonical call identifier (8-4-4-4-12 hex), or `crv-N@peer` when the Setup has none. */
  id: string;
  crv: number;
  caller: CallerConnection;
  setup: H323Message;
  state: CallState;
  technique: Technique;
  /** The routed call (proxy or local): candidates, the attempt on the current one, its outcomes. */
  route: RoutedCall | undefined;
  leg: SignalConnection | undefined;
  /** Messages from the caller before the server answered: sent again after a failover. */
  early: Buffer[];
  /** A Call Proceeding has gone to the caller (a later candidate's is not relayed again). */
  proceedingRelayed: boolean;
  timer: NodeJS.Timeout | undefined;
  startedAt: number;
  /** Set once the setup's outcome is counted. */
  outcome: SetupOutcome | undefined;
  log: Logger;
}
