import { sipError, SipErr, type SipParseError } from './errors.js';

const CR = 13;
const LF = 10;

export type FramerItem = { kind: 'message'; bytes: Buffer } | { kind: 'ping' };

/**
 * SIP over a byte stream (RFC 3261 18.3): messages are delimited by the end of the header block plus
 * Content-Length. CRLF keep-alives between messages are skipped; a double CRLF is a RFC 5626 ping
 * that the caller answers with a single CRLF. Bytes are copied only when a message spans chunks.
 */
export class SipStreamFramer {
  #buf: Buffer = Buffer.alloc(0);
  #off = 0;
  readonly #max: number;

  constructor(maxMessageBytes: number) {
    this.#max = maxMessageBytes;
  }

  /** Bytes held that do not yet make a whole message. */
  get pending(): number {
    return this.#buf.length - this.#off;
  }

  push(chunk: Buffer): void {
    if (this.#off >= this.#buf.length) {
      this.#buf = chunk;
      this.#off = 0;
    } else {
      this.#buf = Buffer.concat([this.#buf.subarray(this.#off), chunk]);
      this.#off = 0;
    }
  }

  /** The next whole message or ping, or undefined when more bytes are needed. Throws SipParseError. */
  next(): FramerItem | undefined {
    const buf = this.#buf;
    let i = this.#off;
    const start = i;
    while (i < buf.length && (buf[i] === CR || buf[i] === LF)) i++;
    if (i > start) {
      this.#off = i;
      if (i - start >= 4) return { kind: 'ping' };
    }
    if (i >= buf.length) return undefined;
    const hdrEnd = findHeaderEnd(buf, i, Math.min(buf.length, i + this.#max));
    if (hdrEnd < 0) {
      if (buf.length - i >= this.#max) throw tooLarge();
      return undefined;
    }
    const cl = contentLength(buf, i, hdrEnd.valueOf());
    if (cl < 0) throw sipError(SipErr.ContentLength, 'bad Content-Length');
    const total = hdrEnd - i + cl;
    if (total > this.#max) throw tooLarge();
    if (i + total > buf.length) return undefined;
    this.#off = i + total;
    return { kind: 'message', bytes: buf.subarray(i, i + total) };
  }
}

const tooLarge = (): SipParseError => sipError(SipErr.TooLarge, 'message too large', 513);

/** Offset just past the empty line ending the header block (CRLFCRLF or LFLF), or -1. */
function findHeaderEnd(buf: Buffer, from: number, limit: number): number {
  for (let i = buf.indexOf(LF, from); i >= 0 && i < limit; i = buf.indexOf(LF, i + 1)) {
    const n = buf[i + 1];
    if (n === LF) return i + 2;
    if (n === CR && buf[i + 2] === LF) return i + 3;
    if (n === undefined || (n === CR && i + 2 >= buf.length)) return -1;
  }
  return -1;
}

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
