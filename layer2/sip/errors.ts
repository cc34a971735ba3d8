import { VcpError } from '../../shared/errors.js';

/**
 * A SIP message that cannot be accepted. `status` is the response a request gets (400, 416, 505...);
 * responses that fail are dropped and counted instead. `reason` goes into the reason phrase.
 */
export class SipParseError extends VcpError {
  readonly status: number;
  readonly reason: string;
  constructor(code: string, status: number, reason: string) {
    super(code, reason);
    this.status = status;
    this.reason = reason;
  }
}

export const enum SipErr {
  StartLine = 'VCP_ERR_SIP_BAD_START_LINE',
  Version = 'VCP_ERR_SIP_VERSION',
  Header = 'VCP_ERR_SIP_BAD_HEADER',
  Missing = 'VCP_ERR_SIP_MISSING_HEADER',
  Multiple = 'VCP_ERR_SIP_MULTIPLE_VALUES',
  ContentLength = 'VCP_ERR_SIP_CONTENT_LENGTH',
  TooLarge = 'VCP_ERR_SIP_TOO_LARGE',
  Uri = 'VCP_ERR_SIP_BAD_URI',
  Scheme = 'VCP_ERR_SIP_UNSUPPORTED_SCHEME',
  CSeq = 'VCP_ERR_SIP_CSEQ',
  Incomplete = 'VCP_ERR_SIP_INCOMPLETE',
}

export const sipError = (code: SipErr, reason: string, status = 400): SipParseError => new SipParseError(code, status, reason);

/** Codes of what the proxy refuses or drops on purpose (logged with the code, counted). */
export const enum SipRelay {
  /** A request towards a destination outside the deployment (403/481/416/400): not forwarded. */
  NotRelayed = 'VCP_ERR_SIP_NOT_RELAYED',
  /** A response from another transport, address or port than its request went to: dropped. */
  ForgedResponse = 'VCP_ERR_SIP_FORGED_RESPONSE',
  /** The transaction table is full, for the source or for the worker: 503 with Retry-After. */
  TransactionLimit = 'VCP_ERR_SIP_TRANSACTION_LIMIT',
}
