import { H323Err, perError } from '../errors.js';
import { Decoder, type DecodeOptions } from './decoder.js';
import { complete } from './encoder.js';
import { PerReader } from './reader.js';
import type { AsnType, PerValue } from './types.js';

/**
 * The table-driven ALIGNED PER engine (X.691): one decoder (`decoder.ts`) and one encoder
 * (`encoder.ts`) walk any description built with `types.ts`.
 */

export type { DecodeOptions } from './decoder.js';
export { oidToBytes, oidToString } from './oid.js';

/** Decode one value that starts at `offset` in `buf`; returns it with the octets it took. */
export function perDecodeAt(type: AsnType, buf: Buffer, offset = 0, opts: DecodeOptions = {}): { value: PerValue; end: number } {
  const r = new PerReader(buf, offset);
  const d = new Decoder(r, opts.strict ?? false, opts.maxDepth ?? 48, 0);
  const value = d.value(type);
  return { value, end: Math.max((r.pos + 7) >>> 3, offset + 1) };
}

/** Decode a whole buffer as one value; bytes after the value (beyond padding) are an error in strict mode. */
export function perDecode(type: AsnType, buf: Buffer, opts: DecodeOptions = {}): PerValue {
  const { value, end } = perDecodeAt(type, buf, 0, opts);
  if (opts.strict && end < buf.length) throw perError(H323Err.PerConstraint, `${buf.length - end} octet(s) after the value`);
  return value;
}

/** The complete ALIGNED PER encoding of `value`. Throws PerError (VCP_ERR_H323_PER_ENCODE). */
export function perEncode(type: AsnType, value: PerValue): Buffer {
  return complete(type, value);
}
