import { VcpError } from '../../shared/errors.js';

/**
 * Stable codes of the replication. None of them stops the connector: a POP that cannot replicate
 * keeps deciding from its own replica and queues its events.
 */
export type ReplicationCode =
  /** an event from the stream failed validation: rejected (terminated in the stream), counted, logged with its origin */
  | 'VCP_ERR_REPL_REJECTED'
  /** an event could not be written to the local store: redelivered later */
  | 'VCP_ERR_REPL_APPLY'
  /** a queued event was not acknowledged by JetStream: it stays queued and is published again */
  | 'VCP_ERR_REPL_PUBLISH'
  /** the stream or this host's consumer cannot be created or used: retried */
  | 'VCP_ERR_REPL_STREAM';

export class ReplicationError extends VcpError {
  constructor(code: ReplicationCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
