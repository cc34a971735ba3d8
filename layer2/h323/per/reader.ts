import { H323Err, perError } from '../errors.js';

/**
 * A bit cursor over a Buffer for ALIGNED PER (X.691). Bits are read most significant first; `align`
 * skips to the next octet boundary. Octet runs that start on a boundary come back as views of the
 * input (no copy); only unaligned runs are copied.
 */
export class PerReader {
  readonly buf: Buffer;
  /** Position in bits from the start of `buf`. */
  pos: number;
  /** End of the readable bits. */
  readonly end: number;

  constructor(buf: Buffer, startByte = 0, endByte = buf.length) {
    this.buf = buf;
    this.pos = startByte * 8;
    this.end = endByte * 8;
  }

  get bitsLeft(): number {
    return this.end - this.pos;
  }

  #need(n: number): void {
    if (this.pos + n > this.end) throw perError(H323Err.PerTruncated, `needs ${n} more bit(s), ${this.end - this.pos} left`);
  }

  bit(): number {
    const p = this.pos;
    if (p >= this.end) throw perError(H323Err.PerTruncated, 'needs 1 more bit, 0 left');
    this.pos = p + 1;
    return (this.buf[p >>> 3]! >>> (7 - (p & 7))) & 1;
  }

  /** An unsigned value of `n` bits (n ≤ 48). */
  bits(n: number): number {
    this.#need(n);
    let v = 0;
    let p = this.pos;
    while (n > 0) {
      const used = p & 7;
      const avail = 8 - used;
      const take = avail < n ? avail : n;
      const chunk = (this.buf[p >>> 3]! >>> (avail - take)) & ((1 << take) - 1);
      v = v * (1 << take) + chunk;
      p += take;
      n -= take;
    }
    this.pos = p;
    return v;
  }

  align(): void {
    const p = (this.pos + 7) & ~7;
    if (p > this.end) throw perError(H323Err.PerTruncated, 'padding runs past the end');
    this.pos = p;
  }

  get aligned(): boolean {
    return (this.pos & 7) === 0;
  }

  /** One aligned octet. */
  byte(): number {
    this.align();
    this.#need(8);
    const v = this.buf[this.pos >>> 3]!;
    this.pos += 8;
    return v;
  }

  /** `n` octets from the current position: a view when aligned, a copy otherwise. */
  octets(n: number): Buffer {
    this.#need(n * 8);
    if ((this.pos & 7) === 0) {
      const s = this.pos >>> 3;
      this.pos += n * 8;
      return this.buf.subarray(s, s + n);
    }
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.bits(8);
    return out;
  }

  /** `n` bits as a left-aligned byte string (the last octet padded with zero bits). */
  bitField(n: number): Buffer {
    if ((n & 7) === 0) return this.octets(n >>> 3);
    this.#need(n);
    const out = Buffer.alloc((n + 7) >>> 3);
    let i = 0;
    let left = n;
    while (left >= 8) {
      out[i++] = this.bits(8);
      left -= 8;
    }
    out[i] = this.bits(left) << (8 - left);
    return out;
  }
}
