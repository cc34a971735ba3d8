import { DnsFormatError } from './errors.js';

/** Resource record types the responder knows (RFC 1035, 3596, 6891). */
export const enum QType {
  A = 1,
  NS = 2,
  SOA = 6,
  AAAA = 28,
  OPT = 41,
  IXFR = 251,
  AXFR = 252,
  ANY = 255,
}

export const enum QClass {
  IN = 1,
}

/** Response codes; BADVERS (16) travels as 0 in the header plus 1 in the OPT record's extended rcode. */
export const enum RCode {
  NOERROR = 0,
  FORMERR = 1,
  SERVFAIL = 2,
  NXDOMAIN = 3,
  NOTIMP = 4,
  REFUSED = 5,
  BADVERS = 16,
}

/** Header flag bits (RFC 1035 4.1.1). */
export const enum Flag {
  QR = 0x8000,
  AA = 0x0400,
  TC = 0x0200,
  RD = 0x0100,
  CD = 0x0010,
}

export const HEADER_BYTES = 12;

export interface Header {
  id: number;
  flags: number;
  opcode: number;
  qd: number;
  an: number;
  ns: number;
  ar: number;
}

export function readHeader(b: Buffer): Header {
  const flags = b.readUInt16BE(2);
  return { id: b.readUInt16BE(0), flags, opcode: (flags >> 11) & 0xf, qd: b.readUInt16BE(4), an: b.readUInt16BE(6), ns: b.readUInt16BE(8), ar: b.readUInt16BE(10) };
}

/** The question of a query, read in place: its name in lower case, and where each label starts. */
export interface Question {
  /** lower case, labels joined by dots, no trailing dot ('' = the root) */
  name: string;
  /** offset in the message of the suffix that starts at each label (for compression pointers) */
  labelOffsets: number[];
  /** the whole question as received (name, type, class), echoed in the response */
  raw: Buffer;
  type: number;
  klass: number;
  /** offset just after the question */
  end: number;
  /** a label holds a dot or an upper bit byte: a name no zone here can hold */
  odd: boolean;
}

/**
 * The first question, from offset 12. A compression pointer cannot point anywhere useful this early
 * in a message (RFC 1035 4.1.4), so a question that holds one is malformed.
 */
export function readQuestion(b: Buffer): Question {
  let off = HEADER_BYTES;
  const labels: string[] = [];
  const labelOffsets: number[] = [];
  let total = 0;
  let odd = false;
  for (;;) {
    if (off >= b.length) throw new DnsFormatError('question name runs past the end');
    const len = b[off]!;
    if (len === 0) {
      off++;
      break;
    }
    if (len > 63) throw new DnsFormatError(len >= 0xc0 ? 'compression pointer in the question' : 'label type not supported');
    if (off + 1 + len > b.length) throw new DnsFormatError('question label runs past the end');
    total += len + 1;
    if (total > 255) throw new DnsFormatError('question name longer than 255 octets');
    labelOffsets.push(off);
    let label = '';
    for (let i = off + 1; i <= off + len; i++) {
      let c = b[i]!;
      if (c === 0x2e || c > 0x7e || c < 0x21) odd = true;
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      label += String.fromCharCode(c);
    }
    labels.push(label);
    off += 1 + len;
  }
  if (off + 4 > b.length) throw new DnsFormatError('question type and class missing');
  const type = b.readUInt16BE(off);
  const klass = b.readUInt16BE(off + 2);
  off += 4;
  return { name: labels.join('.'), labelOffsets, raw: b.subarray(HEADER_BYTES, off), type, klass, end: off, odd };
}

/** A growable writer for one response; names may end in a pointer to a suffix already written. */
export class Writer {
  buf: Buffer;
  off = 0;

  constructor(size = 512) {
    this.buf = Buffer.allocUnsafe(size);
  }

  #room(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  u8(v: number): void {
    this.#room(1);
    this.buf[this.off++] = v;
  }

  u16(v: number): void {
    this.#room(2);
    this.buf.writeUInt16BE(v, this.off);
    this.off += 2;
  }

  u32(v: number): void {
    this.#room(4);
    this.buf.writeUInt32BE(v >>> 0, this.off);
    this.off += 4;
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
  }

  /** A domain name (lower case, no trailing dot); `pointers` maps suffixes already in the message to their offsets. */
  name(n: string, pointers: ReadonlyMap<string, number>): void {
    let rest = n;
    while (rest.length > 0) {
      const at = pointers.get(rest);
      if (at !== undefined && at < 0x3fff) {
        this.u16(0xc000 | at);
        return;
      }
      const dot = rest.indexOf('.');
      const label = dot < 0 ? rest : rest.slice(0, dot);
      this.u8(label.length);
      this.bytes(Buffer.from(label, 'latin1'));
      rest = dot < 0 ? '' : rest.slice(dot + 1);
    }
    this.u8(0);
  }

  /** Reserve a 16-bit length, write the data with `fill`, then set the length. */
  sized(fill: () => void): void {
    const at = this.off;
    this.u16(0);
    fill();
    this.buf.writeUInt16BE(this.off - at - 2, at);
  }

  done(): Buffer {
    return this.buf.subarray(0, this.off);
  }
}
