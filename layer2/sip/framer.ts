import { ChunkQueue } from '../../shared/net/chunk-queue.js';
import { sipError, SipErr, type SipParseError } from './errors.js';

const CR = 13;
const LF = 10;

export type FramerItem = { kind: 'message'; bytes: Buffer } | { kind: 'ping' };

const isCrLf = (b: number): boolean => b === CR || b === LF;

/**
 * SIP over a byte stream (RFC 3261 18.3): messages are delimited by the end of the header block plus
 * Content-Length. CRLF keep-alives between messages are skipped; a double CRLF is a RFC 5626 ping
 * that the caller answers with a single CRLF.
 *
 * Linear in the octets received however they are cut: chunks are kept as they arrive, the search for
 * the end of the header block resumes where it stopped, a message in one chunk comes back as a view
 * of it and one spanning chunks is copied once (its header block at most twice).
 */
export class SipStreamFramer {
  readonly #q = new ChunkQueue();
  readonly #max: number;
  /** CR/LF octets skipped in a row between messages (4 make a ping). */
  #crlf = 0;
  /** Octets of the current message searched for the end of its header block so far. */
  #scanned = 0;
  /** Search state after the last octet searched: 0 none, 1 after LF, 2 after LF CR. */
  #state = 0;
  /** Length of the current message once its header block is complete, else -1. */
  #total = -1;

  constructor(maxMessageBytes: number) {
    this.#max = maxMessageBytes;
  }

  /** Bytes held that do not yet make a whole message. */
  get pending(): number {
    return this.#q.length;
  }

  push(chunk: Buffer): void {
    this.#q.push(chunk);
  }

  /** The next whole message or ping, or undefined when more bytes are needed. Throws SipParseError. */
  next(): FramerItem | undefined {
    const q = this.#q;
    if (this.#scanned === 0 && this.#total < 0) {
      const n = q.skipWhile(isCrLf);
      if (n > 0) {
        this.#crlf += n;
        if (this.#crlf >= 4) {
          this.#crlf = 0;
          return { kind: 'ping' };
        }
      }
      if (q.length === 0) return undefined;
      this.#crlf = 0;
    }
    if (this.#total < 0) {
      const hdrEnd = this.#findHeaderEnd();
      if (hdrEnd < 0) {
        if (q.length >= this.#max) throw tooLarge();
        return undefined;
      }
      // One copy of the header block when it spans chunks; the body is counted, not searched.
      q.coalesce(hdrEnd);
      const cl = contentLength(q.peek(hdrEnd), 0, hdrEnd);
      if (cl < 0) throw sipError(SipErr.ContentLength, 'bad Content-Length');
      if (hdrEnd + cl > this.#max) throw tooLarge();
      this.#total = hdrEnd + cl;
    }
    if (q.length < this.#total) return undefined;
    const bytes = q.take(this.#total);
    this.#total = -1;
    this.#scanned = 0;
    this.#state = 0;
    return { kind: 'message', bytes };
  }

  /** Offset just past the empty line ending the header block (LF LF or LF CR LF), or -1; resumes where the last search stopped. */
  #findHeaderEnd(): number {
    const limit = this.#max;
    let found = -1;
    let state = this.#state;
    this.#q.scan(this.#scanned, (buf, start, end, at) => {
      let i = start;
      while (i < end && at + (i - start) < limit) {
        const b = buf[i]!;
        if (state === 0) {
          const lf = buf.indexOf(LF, i);
          if (lf < 0 || lf >= end) {
            i = end;
            break;
          }
          i = lf + 1;
          state = 1;
          continue;
        }
        i++;
        if (b === LF) {
          found = at + (i - start);
          return true;
        }
        state = state === 1 && b === CR ? 2 : 0;
      }
      return false;
    });
    this.#state = state;
    if (found < 0) this.#scanned = this.#q.length;
    return found;
  }
}

const tooLarge = (): SipParseError => sipError(SipErr.TooLarge, 'message too large', 513);

/** Content-Length (or `l`) in the header block; 0 when absent; -1 when malformed. */
function contentLength(buf: Buffer, from: number, to: number): number {
  let line = buf.indexOf(LF, from) + 1;
  while (line > 0 && line < to) {
    const c = buf[line]! | 0x20;
    if (c === 0x6c /* l */ || c === 0x63 /* c */) {
      let j = line;
      while (j < to && buf[j] !== 58 && buf[j] !== LF) j++;
      const name = buf.toString('latin1', line, j).trim().toLowerCase();
      if ((name === 'content-length' || name === 'l') && buf[j] === 58) {
        const e = buf.indexOf(LF, j);
        const v = buf.toString('latin1', j + 1, e < 0 ? to : e).trim();
        if (v.length === 0 || v.length > 9) return -1;
        let n = 0;
        for (let k = 0; k < v.length; k++) {
          const d = v.charCodeAt(k) - 48;
          if (d < 0 || d > 9) return -1;
          n = n * 10 + d;
        }
        return n;
      }
    }
    line = buf.indexOf(LF, line) + 1;
  }
  return 0;
}
