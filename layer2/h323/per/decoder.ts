import { H323Err, PerError, perError } from '../errors.js';
import { K16, K64, octetsFor, resolve } from './common.js';
import { oidToString } from './oid.js';
import { PerReader } from './reader.js';
import {
  bitsFor,
  EXT_COUNT,
  UNKNOWN,
  type AsnType,
  type BitsType,
  type ChoiceType,
  type EnumType,
  type IntType,
  type OctetsType,
  type PerBitString,
  type PerChoice,
  type PerObject,
  type PerValue,
  type SeqOfType,
  type SeqType,
  type StringType,
  type UnknownAddition,
} from './types.js';

/** The PER decoder: walks a description over a bit cursor. */

const EMPTY = Buffer.alloc(0);

/**
 * Longest INTEGER accepted, in octets. No H.225.0 or H.245 integer comes near it; a longer length is
 * refused before any octet is read, so a hostile length cannot buy a slow big-number conversion.
 */
export const MAX_INTEGER_OCTETS = 16;

export interface DecodeOptions {
  /**
   * Strict: an extension addition or alternative that the description knows but that does not decode
   * exactly is an error. Otherwise (the default) it is kept as raw bytes like an unknown one, so that
   * one odd field in a newer part of a message does not cost the whole message.
   */
  strict?: boolean;
  /** Deepest nesting of constructed values accepted (default 48). */
  maxDepth?: number;
}

const RAW = Symbol('raw');

export class Decoder {
  readonly r: PerReader;
  readonly #strict: boolean;
  readonly #maxDepth: number;
  #depth: number;
  /** Set by `#length()`: the count just read is a fragment and another length follows. */
  #frag = false;

  constructor(r: PerReader, strict: boolean, maxDepth: number, depth: number) {
    this.r = r;
    this.#strict = strict;
    this.#maxDepth = maxDepth;
    this.#depth = depth;
  }

  value(t: AsnType): PerValue {
    switch (t.kind) {
      case 'null':
        return null;
      case 'bool':
        return this.r.bit() === 1;
      case 'int':
        return this.#int(t);
      case 'enum':
        return this.#enum(t);
      case 'octets':
        return this.#octets(t);
      case 'bits':
        return this.#bits(t);
      case 'string':
        return this.#string(t);
      case 'oid':
        return this.#oid();
      case 'seq':
        return this.#nest(() => this.#seq(t));
      case 'seqof':
        return this.#nest(() => this.#seqOf(t));
      case 'choice':
        return this.#nest(() => this.#choice(t));
      case 'open': {
        const bytes = this.#fragmentedOctets(0, undefined);
        const v = this.#nest(() => this.#inner(t.of, bytes));
        return v === RAW ? bytes : v;
      }
      case 'opaque':
        throw perError(H323Err.PerConstraint, `${t.name} is not described and may only appear inside an open type`);
      case 'lazy':
        return this.value(t.resolve());
    }
  }

  #nest<T>(f: () => T): T {
    if (++this.#depth > this.#maxDepth) throw perError(H323Err.PerDepth, `values nested deeper than ${this.#maxDepth}`);
    try {
      return f();
    } finally {
      this.#depth--;
    }
  }

  /** 10.5: a constrained whole number 0 .. range−1 (range ≥ 1). */
  whole(range: number, nbits = 0): number {
    const r = this.r;
    if (range === 1) return 0;
    let v: number;
    if (range <= 255) {
      v = r.bits(nbits || bitsFor(range));
    } else if (range === 256) {
      v = r.byte();
    } else if (range <= K64) {
      r.align();
      v = r.bits(16);
    } else {
      // 10.5.7.4: the octet count as a constrained whole number 1..max, then the octets, aligned.
      const n = r.bits(bitsFor(octetsFor(range - 1))) + 1;
      r.align();
      v = r.bits(8 * n);
    }
    if (v >= range) throw perError(H323Err.PerConstraint, `value ${v} outside a range of ${range}`);
    return v;
  }

  /** 10.9.3.5–8: an unconstrained length, aligned; sets #frag when a 16K fragment follows. */
  #length(): number {
    const r = this.r;
    const b = r.byte();
    this.#frag = false;
    if ((b & 0x80) === 0) return b;
    if ((b & 0x40) === 0) return ((b & 0x3f) << 8) | r.byte();
    const m = b & 0x3f;
    if (m < 1 || m > 4) throw perError(H323Err.PerConstraint, `fragment size ${m} × 16K`);
    this.#frag = true;
    return m * K16;
  }

  #shortLength(what: string): number {
    const n = this.#length();
    if (this.#frag) throw perError(H323Err.PerConstraint, `${what} longer than 16K octets`);
    return n;
  }

  /** 10.6: a normally small non-negative whole number (CHOICE and ENUMERATED extension indexes). */
  smallNumber(): number {
    if (this.r.bit() === 0) return this.r.bits(6);
    const n = this.#shortLength('normally small number');
    if (n < 1 || n > 6) throw perError(H323Err.PerConstraint, `normally small number of ${n} octets`);
    return this.r.bits(8 * n);
  }

  /** 10.9.3.4: a normally small length (the extension-addition bitmap), at least 1. */
  #smallLength(): number {
    if (this.r.bit() === 0) return this.r.bits(6) + 1;
    return this.#shortLength('extension bitmap');
  }

  #int(t: IntType): number | bigint {
    if (t.ext && this.r.bit() === 1) return this.#signed();
    if (t.range > 0) return t.lb! + this.whole(t.range, t.nbits);
    if (t.lb !== undefined) {
      // 10.7: semi-constrained, the offset from lb in the minimum number of octets.
      const n = this.#integerLength();
      if (n <= 6) return t.lb + this.r.bits(8 * n);
      return BigInt(t.lb) + this.#bigOctets(n, false);
    }
    return this.#signed();
  }

  /** 10.8: an unconstrained whole number, two's complement in the minimum number of octets. */
  #signed(): number | bigint {
    const n = this.#integerLength();
    if (n <= 6) {
      const v = this.r.bits(8 * n);
      const top = 2 ** (8 * n - 1);
      return v >= top ? v - 2 * top : v;
    }
    return this.#bigOctets(n, true);
  }

  /** The octet count of an integer: 1 to MAX_INTEGER_OCTETS. */
  #integerLength(): number {
    const n = this.#shortLength('integer');
    if (n === 0) throw perError(H323Err.PerConstraint, 'integer of zero octets');
    if (n > MAX_INTEGER_OCTETS) throw perError(H323Err.PerConstraint, `integer of ${n} octets, more than ${MAX_INTEGER_OCTETS}`);
    return n;
  }

  #bigOctets(n: number, signed: boolean): bigint {
    const b = this.r.octets(n);
    let v = BigInt(`0x${b.toString('hex')}`);
    if (signed && b[0]! & 0x80) v -= 1n << BigInt(8 * n);
    return v;
  }

  #enum(t: EnumType): string | number {
    if (t.ext !== null && this.r.bit() === 1) {
      const i = this.smallNumber();
      return i < t.ext.length ? t.ext[i]! : i;
    }
    const i = this.whole(t.root.length, t.nbits);
    return t.root[i]!;
  }

  /** 17 (16 in older editions): OCTET STRING. */
  #octets(t: OctetsType): Buffer {
    const { min, max } = t;
    const r = this.r;
    if (max !== undefined && max < K64) {
      if (min === max) {
        if (min === 0) return EMPTY;
        if (min > 2) r.align();
        return r.octets(min);
      }
      const n = min + this.whole(max - min + 1);
      if (n === 0) return EMPTY;
      r.align();
      return r.octets(n);
    }
    return this.#fragmentedOctets(min, max);
  }

  #fragmentedOctets(min: number, max: number | undefined): Buffer {
    let n = this.#length();
    let out: Buffer;
    if (!this.#frag) {
      out = this.r.octets(n);
    } else {
      const parts: Buffer[] = [];
      let total = 0;
      for (;;) {
        if (n * 8 > this.r.bitsLeft) throw perError(H323Err.PerTruncated, `fragment of ${n} octets runs past the end`);
        parts.push(this.r.octets(n));
        total += n;
        if (!this.#frag) break;
        n = this.#length();
      }
      out = Buffer.concat(parts, total);
    }
    if (out.length < min || (max !== undefined && out.length > max)) {
      throw perError(H323Err.PerConstraint, `${out.length} octets outside SIZE (${min}..${max ?? 'MAX'})`);
    }
    return out;
  }

  /** 16 (15): BIT STRING. */
  #bits(t: BitsType): PerBitString {
    const { min, max } = t;
    const r = this.r;
    let n: number;
    if (max !== undefined && max < K64) {
      if (min === max) {
        n = min;
        if (n > 16) r.align();
      } else {
        n = min + this.whole(max - min + 1);
        if (n > 0) r.align();
      }
      return { bits: n, data: r.bitField(n) };
    }
    n = this.#length();
    if (this.#frag) throw perError(H323Err.PerConstraint, 'bit string longer than 16K bits');
    if (n < min || (max !== undefined && n > max)) throw perError(H323Err.PerConstraint, `${n} bits outside SIZE (${min}..${max ?? 'MAX'})`);
    return { bits: n, data: r.bitField(n) };
  }

  /** 30 (27): known-multiplier character strings. */
  #string(t: StringType): string {
    const { min, max, charBits } = t;
    const r = this.r;
    if (max !== undefined && max < K64) {
      let n: number;
      if (min === max) {
        n = min;
        if (n * charBits > 16) r.align();
      } else {
        n = min + this.whole(max - min + 1);
        if (n > 0) r.align();
      }
      return this.#chars(t, n);
    }
    let s = '';
    do {
      const n = this.#length();
      if (n * charBits > r.bitsLeft) throw perError(H323Err.PerTruncated, `${n} characters run past the end`);
      s += this.#chars(t, n);
    } while (this.#frag);
    if (s.length < min) throw perError(H323Err.PerConstraint, `${s.length} characters, fewer than ${min}`);
    return s;
  }

  #chars(t: StringType, n: number): string {
    const r = this.r;
    if (t.charBits === 8 && t.fromIndex === null && r.aligned) {
      const b = r.octets(n);
      if (t.permitted || (this.#strict && t.maxCode < 255)) for (const c of b) this.#checkCode(t, c);
      return b.toString('latin1');
    }
    if (t.charBits === 16 && r.aligned) {
      const b = r.octets(2 * n);
      let s = '';
      for (let i = 0; i < b.length; i += 2) s += String.fromCharCode((b[i]! << 8) | b[i + 1]!);
      return s;
    }
    if (n * t.charBits > r.bitsLeft) throw perError(H323Err.PerTruncated, `${n} characters run past the end`);
    let s = '';
    for (let i = 0; i < n; i++) {
      const v = r.bits(t.charBits);
      if (t.fromIndex) {
        if (v >= t.fromIndex.length) throw perError(H323Err.PerConstraint, `character index ${v} outside the ${t.fromIndex.length}-character alphabet`);
        s += String.fromCharCode(t.fromIndex[v]!);
      } else {
        this.#checkCode(t, v);
        s += String.fromCharCode(v);
      }
    }
    return s;
  }

  #checkCode(t: StringType, c: number): void {
    if (c > t.maxCode ? this.#strict : t.permitted !== null && t.permitted[c] !== 1) {
      throw perError(H323Err.PerConstraint, `character 0x${c.toString(16)} not permitted in ${t.name}`);
    }
  }

  /** 24 (23): OBJECT IDENTIFIER, the BER contents octets behind a length. */
  #oid(): string {
    const n = this.#shortLength('object identifier');
    if (n === 0) throw perError(H323Err.PerConstraint, 'empty object identifier');
    return oidToString(this.r.octets(n));
  }

  /** 19 (18): SEQUENCE. */
  #seq(t: SeqType): PerObject {
    const r = this.r;
    const extBit = t.ext !== null ? r.bit() : 0;
    const mask = t.nOpt > 0 ? r.bits(t.nOpt) : 0;
    const out: PerObject = {};
    let opt = t.nOpt;
    for (const f of t.root) {
      if (f.optional && ((mask >>> --opt) & 1) === 0) continue;
      try {
        out[f.name] = this.value(f.type);
      } catch (e) {
        throw e instanceof PerError ? e.within(f.name) : e;
      }
    }
    if (extBit === 1) this.#additions(t, out);
    return out;
  }

  /** 19.7–19.9: the extension-addition bitmap, then each present addition as an open type. */
  #additions(t: SeqType, out: PerObject): void {
    const r = this.r;
    const count = this.#smallLength();
    if (count > r.bitsLeft) throw perError(H323Err.PerTruncated, `extension bitmap of ${count} bits runs past the end`);
    const present: number[] = [];
    for (let i = 0; i < count; i++) if (r.bit() === 1) present.push(i);
    const known = t.ext!;
    let unknown: UnknownAddition[] | undefined;
    for (const i of present) {
      const bytes = this.#fragmentedOctets(0, undefined);
      const f = known[i];
      let v: PerValue | typeof RAW = RAW;
      if (f) {
        try {
          v = this.#inner(f.type, bytes);
        } catch (e) {
          throw e instanceof PerError ? e.within(f.name) : e;
        }
      }
      if (f && v !== RAW) out[f.name] = v;
      else (unknown ??= []).push({ index: i, value: bytes });
    }
    if (unknown) out[UNKNOWN] = unknown;
    const canonical = present.length ? present[present.length - 1]! + 1 : 0;
    if (count !== canonical) out[EXT_COUNT] = count;
  }

  /** A value inside an open type: decoded from its own bytes, which it must fill (up to padding). */
  #inner(t: AsnType, bytes: Buffer): PerValue | typeof RAW {
    const type = resolve(t);
    if (type.kind === 'opaque') return bytes;
    const sub = new Decoder(new PerReader(bytes), this.#strict, this.#maxDepth, this.#depth);
    let v: PerValue;
    try {
      v = sub.value(type);
    } catch (e) {
      if (this.#strict || !(e instanceof PerError)) throw e;
      return RAW;
    }
    const used = sub.r.pos;
    const slack = bytes.length * 8 - used;
    if (slack >= 8 && !(used === 0 && bytes.length === 1)) {
      if (this.#strict) throw perError(H323Err.PerConstraint, `open type of ${bytes.length} octets holds only ${Math.ceil(used / 8)}`);
      return RAW;
    }
    return v;
  }

  /** 20 (19): SEQUENCE OF. */
  #seqOf(t: SeqOfType): PerValue[] {
    const { min, max } = t;
    const of = resolve(t.of);
    const out: PerValue[] = [];
    const items = (n: number): void => {
      if (of.kind !== 'null' && n > this.r.bitsLeft) throw perError(H323Err.PerTruncated, `${n} items cannot fit in ${this.r.bitsLeft} bits`);
      for (let i = 0; i < n; i++) {
        try {
          out.push(this.value(of));
        } catch (e) {
          throw e instanceof PerError ? e.within(`[${out.length}]`) : e;
        }
      }
    };
    if (max !== undefined && max < K64) {
      items(min === max ? min : min + this.whole(max - min + 1));
      return out;
    }
    do items(this.#length());
    while (this.#frag);
    if (out.length < min || (max !== undefined && out.length > max)) throw perError(H323Err.PerConstraint, `${out.length} items outside SIZE (${min}..${max ?? 'MAX'})`);
    return out;
  }

  /** 23 (22): CHOICE. */
  #choice(t: ChoiceType): PerChoice {
    if (t.ext !== null && this.r.bit() === 1) {
      const i = this.smallNumber();
      const bytes = this.#fragmentedOctets(0, undefined);
      const alt = t.ext[i];
      if (alt) {
        let v: PerValue | typeof RAW;
        try {
          v = this.#inner(alt.type, bytes);
        } catch (e) {
          throw e instanceof PerError ? e.within(alt.name) : e;
        }
        if (v !== RAW) return { choice: alt.name, value: v };
      }
      return { choice: UNKNOWN, index: i, value: bytes };
    }
    const alt = t.root[this.whole(t.root.length, t.nbits)]!;
    try {
      return { choice: alt.name, value: this.value(alt.type) };
    } catch (e) {
      throw e instanceof PerError ? e.within(alt.name) : e;
    }
  }
}
