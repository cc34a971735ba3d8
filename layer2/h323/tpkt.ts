import { ChunkQueue } from '../../shared/net/chunk-queue.js';
import { H323Err, h323Error } from './errors.js';

/** RFC 1006 TPKT: version 3, a reserved octet, a 16-bit length that counts the 4-octet header. */
export const TPKT_HEADER = 4;
export const TPKT_MAX = 0xffff;

export type TpktItem = { kind: 'message'; bytes: Buffer } | { kind: 'keepalive' };

/**
 * TPKT framing on a TCP stream. `push` the chunks as they arrive, then call `next` until it returns
 * undefined. Chunks are kept as they arrive (nothing is copied or rescanned per chunk); a message
 * comes back as a view of the chunk it arrived in and is copied once when it spans chunks.
 *
 * Tolerated: an empty TPKT (length 4) as keep-alive; the Tandberg MXP keep-alive `00 03 00 04`
 * (version and reserved octets swapped); a non-zero reserved octet (Cisco AS5300); headers split
 * across segments. A length over `maxMessageBytes` is refused as soon as the header is seen, before
 * any of the message is buffered.
 */
export class TpktFramer {
  readonly #q = new ChunkQueue();
  readonly #max: number;

  constructor(maxMessageBytes = TPKT_MAX - TPKT_HEADER) {
    this.#max = maxMessageBytes;
  }

  /** Bytes held that do not make a whole message yet. */
  get pending(): number {
    return this.#q.length;
  }

  push(chunk: Buffer): void {
    this.#q.push(chunk);
  }

  /** The next message or keep-alive, or undefined when more bytes are needed. Throws H323Error. */
  next(): TpktItem | undefined {
    const q = this.#q;
    if (q.length < TPKT_HEADER) return undefined;
    const version = q.byteAt(0);
    const len = (q.byteAt(2) << 8) | q.byteAt(3);
    if (version === 0 && q.byteAt(1) === 3 && len === TPKT_HEADER) {
      q.skip(TPKT_HEADER);
      return { kind: 'keepalive' };
    }
    if (version !== 3) throw h323Error(H323Err.Tpkt, `TPKT version ${version}, expected 3`);
    if (len < TPKT_HEADER) throw h323Error(H323Err.Tpkt, `TPKT length ${len} shorter than its header`);
    if (len === TPKT_HEADER) {
      q.skip(TPKT_HEADER);
      return { kind: 'keepalive' };
    }
    if (len - TPKT_HEADER > this.#max) throw h323Error(H323Err.TooLarge, `TPKT of ${len - TPKT_HEADER} octets over the limit of ${this.#max}`);
    if (q.length < len) return undefined;
    q.skip(TPKT_HEADER);
    return { kind: 'message', bytes: q.take(len - TPKT_HEADER) };
  }
}

/** One TPKT around `payload`. */
export function tpkt(payload: Buffer): Buffer {
  const len = payload.length + TPKT_HEADER;
  if (len > TPKT_MAX) throw h323Error(H323Err.TooLarge, `a TPKT cannot carry ${payload.length} octets`);
  const out = Buffer.allocUnsafe(len);
  out[0] = 3;
  out[1] = 0;
  out.writeUInt16BE(len, 2);
  payload.copy(out, TPKT_HEADER);
  return out;
}
