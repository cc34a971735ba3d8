import { VcpError } from '../../shared/errors.js';

/** Stable codes of everything the H.323 codecs reject; the error table of docs/errors.md lists each one. */
export const enum H323Err {
  /** A TPKT header whose version octet is not 3. */
  Tpkt = 'VCP_ERR_H323_TPKT',
  /** A TPKT length over the configured limit, refused before buffering. */
  TooLarge = 'VCP_ERR_H323_TOO_LARGE',
  /** A Q.931 message that cannot be read: header, call reference or information element. */
  Q931 = 'VCP_ERR_H323_Q931',
  /** A User-user information element that does not carry H.225 (protocol discriminator 5). */
  UserUser = 'VCP_ERR_H323_USER_USER',
  /** The PER bytes end before the value does. */
  PerTruncated = 'VCP_ERR_H323_PER_TRUNCATED',
  /** A PER value outside its constraint: an index, a length, a character or an integer. */
  PerConstraint = 'VCP_ERR_H323_PER_CONSTRAINT',
  /** PER values nested deeper than the decoder allows. */
  PerDepth = 'VCP_ERR_H323_PER_DEPTH',
  /** A value given to the PER encoder that does not fit the ASN.1 description. */
  PerEncode = 'VCP_ERR_H323_PER_ENCODE',
  /** A message begun on a connection but not finished within `h323.headerTimeoutMs`. */
  SlowSender = 'VCP_ERR_H323_SLOW_SENDER',
}

/** Base class of the H.323 codec errors. */
export class H323Error extends VcpError {
  constructor(code: H323Err, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A PER decoding or encoding failure; `path` names the field where it happened (outermost first). */
export class PerError extends H323Error {
  readonly path: string[] = [];
  readonly reason: string;
  constructor(code: H323Err, reason: string) {
    super(code, reason);
    this.reason = reason;
  }

  /** Called while unwinding: records the enclosing field and refreshes the message. */
  within(segment: string): this {
    this.path.unshift(segment);
    this.message = `${this.path.join('.')}: ${this.reason}`;
    return this;
  }
}

export const perError = (code: H323Err, reason: string): PerError => new PerError(code, reason);
export const h323Error = (code: H323Err, message: string): H323Error => new H323Error(code, message);
