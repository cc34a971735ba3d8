import type { ServerConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { Technique } from '../decide/types.js';
import type { CallContext } from '../learn/engine.js';
import type { H323Message } from './message.js';
import type { SignalConnection } from './transport.js';

/**
 * The life of one call through the connector (see docs/architecture.md for the diagram). A call is
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

/** Why an attempt on a server failed. */
export type AttemptFailure = 'refused' | 'timeout' | 'resource' | 'closed' | 'malformed';

/** The caller side of a call: one accepted connection and its calls by call reference. */
export interface CallerConnection {
  conn: SignalConnection;
  calls: Map<number, Call>;
}

export interface Call {
  /** Canonical call identifier (8-4-4-4-12 hex), or `crv-N@peer` when the Setup has none. */
  id: string;
  /** The redirect token: the call identifier when the Setup carries one, else ''. */
  token: string;
  crv: number;
  caller: CallerConnection;
  setup: H323Message;
  state: CallState;
  technique: Technique;
  ctx: CallContext | undefined;
  candidates: ServerConfig[];
  attempt: number;
  server: ServerConfig | undefined;
  leg: SignalConnection | undefined;
  /** Messages from the caller before the server answered: sent again after a failover. */
  early: Buffer[];
  /** A Call Proceeding has gone to the caller (a later candidate's is not relayed again). */
  proceedingRelayed: boolean;
  /** The current attempt's outcome has been taught to the learning engine. */
  learned: boolean;
  lastFailure: AttemptFailure | undefined;
  /** Capacity units held on `server` while established. */
  units: number;
  timer: NodeJS.Timeout | undefined;
  startedAt: number;
  attemptAt: number;
  /** Set once the setup's outcome is counted. */
  outcome: SetupOutcome | undefined;
  log: Logger;
}
