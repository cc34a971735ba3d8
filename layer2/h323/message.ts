import { H323Err, h323Error } from './errors.js';
import { decodeUserInformation, encodeUserInformation, type H323UserInformation, type MessageBody } from './h225.js';
import type { DecodeOptions } from './per/codec.js';
import { decodeQ931, encodeQ931, findIe, Ie, setIe, type Q931Message } from './q931.js';

/** Protocol discriminator of a User-user IE that carries H.225.0 (X.208/X.209 coded user information). */
export const UU_PD_H225 = 0x05;

/**
 * One H.225.0 call signalling message: the Q.931 message and the decoded `H323-UserInformation`
 * from its User-user IE. `encodeH323(decodeH323(b))` gives `b` back for well-formed input: IE order,
 * unknown IEs, unknown ASN.1 extensions and octets after the PER value are all kept.
 */
export interface H323Message {
  q931: Q931Message;
  /** Undefined when the message has no User-user IE. */
  uu: H323UserInformation | undefined;
  /** Octets inside the User-user IE after the PER value, when there are any. */
  uuTrailing?: Buffer;
}

export function decodeH323(bytes: Buffer, opts: DecodeOptions = {}): H323Message {
  const q931 = decodeQ931(bytes);
  const ie = findIe(q931, Ie.UserUser);
  if (!ie) return { q931, uu: undefined };
  if (ie.data.length < 2) throw h323Error(H323Err.UserUser, `User-user IE of ${ie.data.length} octet(s)`);
  if (ie.data[0] !== UU_PD_H225) throw h323Error(H323Err.UserUser, `User-user protocol discriminator 0x${ie.data[0]!.toString(16)}, expected 0x05`);
  const per = ie.data.subarray(1);
  const { value, end } = decodeUserInformation(per, opts);
  const msg: H323Message = { q931, uu: value };
  if (end < per.length) msg.uuTrailing = per.subarray(end);
  return msg;
}

/** The Q.931 bytes (without TPKT) of a message; the User-user IE is rebuilt from `uu`. */
export function encodeH323(m: H323Message): Buffer {
  if (!m.uu) return encodeQ931(m.q931);
  const parts = [Buffer.from([UU_PD_H225]), encodeUserInformation(m.uu)];
  if (m.uuTrailing) parts.push(m.uuTrailing);
  const q931 = { ...m.q931, ies: [...m.q931.ies] };
  setIe(q931, Ie.UserUser, Buffer.concat(parts));
  return encodeQ931(q931);
}

export function bodyOf(m: H323Message): MessageBody | undefined {
  return m.uu?.['h323-uu-pdu']['h323-message-body'];
}
