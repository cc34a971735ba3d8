/**
 * A deliberately plain bit-string assembler for hand-written PER fixtures (not the production
 * writer): fields are appended as text bits, so an expected encoding reads like X.691 working.
 */
export class Bits {
  #s = '';

  /** Bits as text, spaces ignored: `b('0 101')`. */
  b(text: string): this {
    const t = text.replace(/\s+/g, '');
    if (!/^[01]*$/.test(t)) throw new Error(`not bits: ${text}`);
    this.#s += t;
    return this;
  }

  /** `n`-bit unsigned value. */
  u(v: number, n: number): this {
    return this.b(n === 0 ? '' : v.toString(2).padStart(n, '0'));
  }

  /** Zero bits to the next octet boundary. */
  align(): this {
    while (this.#s.length % 8) this.#s += '0';
    return this;
  }

  /** Whole octets (hex text or Buffer), written from the current position. */
  hex(h: string | Buffer): this {
    const buf = typeof h === 'string' ? Buffer.from(h.replace(/\s+/g, ''), 'hex') : h;
    for (const x of buf) this.u(x, 8);
    return this;
  }

  get length(): number {
    return this.#s.length;
  }

  buffer(): Buffer {
    const s = this.#s.padEnd(Math.ceil(this.#s.length / 8) * 8, '0');
    const out = Buffer.alloc(s.length / 8);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 8, i * 8 + 8), 2);
    return out;
  }
}

export const bits = (): Bits => new Bits();
export const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
