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
