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
