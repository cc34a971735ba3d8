/**
 * A growable bit writer for ALIGNED PER (X.691): bits go most significant first, `align` pads with
 * zero bits to the next octet boundary. The buffer is zero-filled as it grows, so partial octets can
 * be OR-ed into.
 */
export class PerWriter {
  #buf: Buffer;
  #pos = 0;

  constructor(initialBytes = 256) {
    this.#buf = Buffer.alloc(initialBytes);
  }

  /** Bits written so far. */
  get bitLength(): number {
    return this.#pos;
  }

  #room(bits: number): void {
    const need = (this.#pos + bits + 7) >>> 3;
    if (need <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.alloc(size);
    this.#buf.copy(next, 0, 0, (this.#pos + 7) >>> 3);
    this.#buf = next;
  }

  bit(b: number | boolean): void {
    this.#room(1);
    if (b) this.#buf[this.#pos >>> 3]! |= 0x80 >>> (this.#pos & 7);
    this.#pos++;
  }

  /** The low `n` bits of `v` (0 ≤ v < 2^n, n ≤ 48). */
  bits(v: number, n: number): void {
    this.#room(n);
    let p = this.#pos;
    if (n <= 30) {
      while (n > 0) {
        const avail = 8 - (p & 7);
        const take = avail < n ? avail : n;
        n -= take;
        this.#buf[p >>> 3]! |= ((v >>> n) & ((1 << take) - 1)) << (avail - take);
        p += take;
      }
      this.#pos = p;
      return;
    }
    while (n > 0) {
      const used = p & 7;
      const avail = 8 - used;
      const take = avail < n ? avail : n;
      const shift = n - take;
      const chunk = Math.floor(v / 2 ** shift) & ((1 << take) - 1);
      this.#buf[p >>> 3]! |= chunk << (avail - take);
      p += take;
      n -= take;
    }
    this.#pos = p;
  }

  align(): void {
    this.#pos = (this.#pos + 7) & ~7;
    this.#room(0);
  }

  byte(v: number): void {
    this.align();
    this.#room(8);
    this.#buf[this.#pos >>> 3] = v;
    this.#pos += 8;
  }

  /** Octets from the current position (aligned or not: the caller aligns when the rules say so). */
  octets(b: Buffer): void {
    if ((this.#pos & 7) === 0) {
      this.#room(b.length * 8);
      b.copy(this.#buf, this.#pos >>> 3);
      this.#pos += b.length * 8;
      return;
    }
    for (let i = 0; i < b.length; i++) this.bits(b[i]!, 8);
  }

  /** The first `n` bits of a left-aligned byte string. */
  bitField(b: Buffer, n: number): void {
    const whole = n >>> 3;
    if (whole > 0) this.octets(whole === b.length ? b : b.subarray(0, whole));
    const rest = n & 7;
    if (rest) this.bits(b[whole]! >>> (8 - rest), rest);
  }

  /**
   * An open type written in place: `body` writes the inner value right after a one-octet length
   * placeholder; the length is patched in afterwards (X.691 10.9: one octet below 128, two below
   * 16K, 16K fragments beyond — the last two cases move the bytes already written).
   */
  openType(body: () => void): void {
    this.align();
    this.#room(8);
    const lenAt = this.#pos >>> 3;
    this.#pos += 8;
    const start = this.#pos;
    body();
    if (this.#pos === start) this.bits(0, 8);
    this.align();
    const len = (this.#pos - start) >>> 3;
    if (len < 128) {
      this.#buf[lenAt] = len;
      return;
    }
    if (len < 16384) {
      this.#room(8);
      this.#buf.copy(this.#buf, lenAt + 2, lenAt + 1, lenAt + 1 + len);
      this.#buf[lenAt] = 0x80 | (len >>> 8);
      this.#buf[lenAt + 1] = len & 0xff;
      this.#pos += 8;
      return;
    }
    const content = Buffer.from(this.#buf.subarray(lenAt + 1, lenAt + 1 + len));
    this.#buf.fill(0, lenAt, lenAt + 1 + len);
    this.#pos = lenAt * 8;
    let off = 0;
    for (;;) {
      const left = len - off;
      if (left < 16384) {
        if (left < 128) this.byte(left);
        else {
          this.byte(0x80 | (left >>> 8));
          this.byte(left & 0xff);
        }
        this.octets(content.subarray(off));
        return;
      }
      const m = Math.min(4, Math.floor(left / 16384));
      this.byte(0xc0 | m);
      this.octets(content.subarray(off, off + m * 16384));
      off += m * 16384;
    }
  }

  /** The complete encoding: padded to whole octets, a copy that the writer no longer touches. */
  finish(): Buffer {
    const n = (this.#pos + 7) >>> 3;
    return Buffer.from(this.#buf.subarray(0, n));
  }

  /** Like `finish` but an outermost empty encoding becomes one zero octet (X.691 11.1). */
  finishComplete(): Buffer {
    return this.#pos === 0 ? Buffer.alloc(1) : this.finish();
  }
}
