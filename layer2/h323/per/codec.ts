import { H323Err, PerError, perError } from '../errors.js';
import { PerReader } from './reader.js';
import { PerWriter } from './writer.js';
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

/**
 * The table-driven ALIGNED PER engine (X.691): one decoder and one encoder walk any description
 * built with `types.ts`. Clause numbers below refer to X.691 (07/2002).
 */

const K16 = 16384;
const K64 = 65536;
const EMPTY = Buffer.alloc(0);

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

const resolve = (t: AsnType): AsnType => (t.kind === 'lazy' ? t.resolve() : t);

/** Octets needed to hold `v` as an unsigned number (at least one). */
function octetsFor(v: number): number {
  let n = 1;
  while (v >= 2 ** (8 * n)) n++;
  return n;
}

const RAW = Symbol('raw');

class Decoder {
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
      const n = this.#shortLength('integer');
      if (n === 0) throw perError(H323Err.PerConstraint, 'integer of zero octets');
      if (n <= 6) return t.lb + this.r.bits(8 * n);
      return BigInt(t.lb) + this.#bigOctets(n, false);
    }
    return this.#signed();
  }

  /** 10.8: an unconstrained whole number, two's complement in the minimum number of octets. */
  #signed(): number | bigint {
    const n = this.#shortLength('integer');
    if (n === 0) throw perError(H323Err.PerConstraint, 'integer of zero octets');
    if (n <= 6) {
      const v = this.r.bits(8 * n);
      const top = 2 ** (8 * n - 1);
      return v >= top ? v - 2 * top : v;
    }
    return this.#bigOctets(n, true);
  }

  #bigOctets(n: number, signed: boolean): bigint {
    const b = this.r.octets(n);
    let v = 0n;
    for (const x of b) v = (v << 8n) | BigInt(x);
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

/** Dotted form of BER object identifier contents. */
export function oidToString(b: Buffer): string {
  const arcs: number[] = [];
  let v = 0;
  let started = false;
  for (let i = 0; i < b.length; i++) {
    const x = b[i]!;
    if (!started && x === 0x80) throw perError(H323Err.PerConstraint, 'object identifier arc with a leading 0x80');
    started = true;
    v = v * 128 + (x & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER) throw perError(H323Err.PerConstraint, 'object identifier arc too large');
    if ((x & 0x80) === 0) {
      arcs.push(v);
      v = 0;
      started = false;
    }
  }
  if (started) throw perError(H323Err.PerConstraint, 'object identifier ends inside an arc');
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

export function oidToBytes(s: string): Buffer {
  const arcs = s.split('.').map((x) => (/^\d+$/.test(x) ? Number(x) : NaN));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a)) || arcs[0]! > 2 || (arcs[0]! < 2 && arcs[1]! > 39)) {
    throw perError(H323Err.PerEncode, `'${s}' is not an object identifier`);
  }
  const out: number[] = [];
  const put = (v: number): void => {
    const tmp = [v % 128];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) tmp.push((v % 128) | 0x80);
    out.push(...tmp.reverse());
  };
  put(arcs[0]! * 40 + arcs[1]!);
  for (let i = 2; i < arcs.length; i++) put(arcs[i]!);
  return Buffer.from(out);
}

class Encoder {
  readonly w: PerWriter;

  constructor(w: PerWriter) {
    this.w = w;
  }

  value(t: AsnType, v: PerValue | undefined): void {
    switch (t.kind) {
      case 'null':
        if (v !== null) throw bad('NULL', v);
        return;
      case 'bool':
        if (typeof v !== 'boolean') throw bad('BOOLEAN', v);
        this.w.bit(v);
        return;
      case 'int':
        return this.#int(t, v);
      case 'enum':
        return this.#enum(t, v);
      case 'octets':
        if (!Buffer.isBuffer(v)) throw bad('OCTET STRING (a Buffer)', v);
        return this.#octets(t, v);
      case 'bits':
        return this.#bits(t, v);
      case 'string':
        if (typeof v !== 'string') throw bad(t.name, v);
        return this.#string(t, v);
      case 'oid':
        if (typeof v !== 'string') throw bad('OBJECT IDENTIFIER (dotted string)', v);
        return this.#fragmented(oidToBytes(v));
      case 'seq':
        return this.#seq(t, v);
      case 'seqof':
        return this.#seqOf(t, v);
      case 'choice':
        return this.#choice(t, v);
      case 'open':
        return Buffer.isBuffer(v) ? this.#fragmented(v) : this.#open(t.of, v);
      case 'opaque':
        throw perError(H323Err.PerEncode, `${t.name} is not described and may only appear inside an open type`);
      case 'lazy':
        return this.value(t.resolve(), v);
    }
  }

  whole(v: number, range: number, nbits = 0): void {
    const w = this.w;
    if (range === 1) return;
    if (range <= 255) w.bits(v, nbits || bitsFor(range));
    else if (range === 256) w.byte(v);
    else if (range <= K64) {
      w.align();
      w.bits(v, 16);
    } else {
      const n = octetsFor(v);
      w.bits(n - 1, bitsFor(octetsFor(range - 1)));
      w.align();
      w.bits(v, 8 * n);
    }
  }

  length(n: number): void {
    if (n < 128) this.w.byte(n);
    else if (n < K16) {
      this.w.byte(0x80 | (n >>> 8));
      this.w.byte(n & 0xff);
    } else throw perError(H323Err.PerEncode, `length ${n} needs fragmentation here`);
  }

  /** 10.9.3.8: an unconstrained count with 16K fragments; `put(from, count)` writes the units. */
  #chunks(total: number, put: (from: number, count: number) => void): void {
    let pos = 0;
    for (;;) {
      const left = total - pos;
      if (left < K16) {
        this.length(left);
        put(pos, left);
        return;
      }
      const m = Math.min(4, Math.floor(left / K16));
      this.w.byte(0xc0 | m);
      put(pos, m * K16);
      pos += m * K16;
    }
  }

  #fragmented(b: Buffer): void {
    this.#chunks(b.length, (from, count) => this.w.octets(from === 0 && count === b.length ? b : b.subarray(from, from + count)));
  }

  smallNumber(n: number): void {
    if (n < 64) {
      this.w.bit(0);
      this.w.bits(n, 6);
    } else {
      this.w.bit(1);
      const k = octetsFor(n);
      this.length(k);
      this.w.bits(n, 8 * k);
    }
  }

  #int(t: IntType, v: PerValue | undefined): void {
    if (typeof v !== 'number' && typeof v !== 'bigint') throw bad('INTEGER', v);
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw bad('INTEGER', v);
    const inRoot = (t.lb === undefined || v >= t.lb) && (t.ub === undefined || v <= t.ub);
    if (t.ext) {
      this.w.bit(!inRoot);
      if (!inRoot) return this.#signed(v);
    } else if (!inRoot) {
      throw perError(H323Err.PerEncode, `${v} outside (${t.lb ?? 'MIN'}..${t.ub ?? 'MAX'})`);
    }
    if (t.range > 0) return this.whole(Number(v) - t.lb!, t.range, t.nbits);
    if (t.lb !== undefined) {
      const off = BigInt(v) - BigInt(t.lb);
      const bytes = bigBytes(off, false);
      this.length(bytes.length);
      this.w.octets(bytes);
      return;
    }
    this.#signed(v);
  }

  #signed(v: number | bigint): void {
    const bytes = bigBytes(BigInt(v), true);
    this.length(bytes.length);
    this.w.octets(bytes);
  }

  #enum(t: EnumType, v: PerValue | undefined): void {
    if (typeof v === 'number' && t.ext !== null && Number.isSafeInteger(v) && v >= 0) {
      this.w.bit(1);
      return this.smallNumber(v);
    }
    if (typeof v !== 'string') throw bad('ENUMERATED name', v);
    const i = t.root.indexOf(v);
    if (i >= 0) {
      if (t.ext !== null) this.w.bit(0);
      return this.whole(i, t.root.length, t.nbits);
    }
    const j = t.ext ? t.ext.indexOf(v) : -1;
    if (j < 0) throw perError(H323Err.PerEncode, `'${v}' is not one of ${[...t.root, ...(t.ext ?? [])].join(', ')}`);
    this.w.bit(1);
    this.smallNumber(j);
  }

  #size(n: number, min: number, max: number | undefined, unit: string): void {
    if (n < min || (max !== undefined && n > max)) throw perError(H323Err.PerEncode, `${n} ${unit} outside SIZE (${min}..${max ?? 'MAX'})`);
  }

  #octets(t: OctetsType, b: Buffer): void {
    const { min, max } = t;
    this.#size(b.length, min, max, 'octets');
    if (max !== undefined && max < K64) {
      if (min === max) {
        if (min > 2) this.w.align();
      } else {
        this.whole(b.length - min, max - min + 1);
        if (b.length > 0) this.w.align();
      }
      this.w.octets(b);
      return;
    }
    this.#fragmented(b);
  }

  #bits(t: BitsType, v: PerValue | undefined): void {
    const bs = v as PerBitString | undefined;
    if (!bs || typeof bs !== 'object' || typeof bs.bits !== 'number' || !Buffer.isBuffer(bs.data) || bs.data.length * 8 < bs.bits) {
      throw bad('BIT STRING { bits, data }', v);
    }
    const { min, max } = t;
    const n = bs.bits;
    this.#size(n, min, max, 'bits');
    if (max !== undefined && max < K64) {
      if (min === max) {
        if (n > 16) this.w.align();
      } else {
        this.whole(n - min, max - min + 1);
        if (n > 0) this.w.align();
      }
    } else {
      this.length(n);
    }
    this.w.bitField(bs.data, n);
  }

  #string(t: StringType, s: string): void {
    const { min, max, charBits } = t;
    this.#size(s.length, min, max, 'characters');
    if (max !== undefined && max < K64) {
      if (min === max) {
        if (s.length * charBits > 16) this.w.align();
      } else {
        this.whole(s.length - min, max - min + 1);
        if (s.length > 0) this.w.align();
      }
      this.#chars(t, s, 0, s.length);
      return;
    }
    this.#chunks(s.length, (from, count) => this.#chars(t, s, from, count));
  }

  #chars(t: StringType, s: string, from: number, count: number): void {
    const w = this.w;
    for (let i = from; i < from + count; i++) {
      const c = s.charCodeAt(i);
      if (t.toIndex) {
        const x = c < t.toIndex.length ? t.toIndex[c]! : -1;
        if (x < 0) throw perError(H323Err.PerEncode, `character '${s[i]}' not permitted in this ${t.name}`);
        w.bits(x, t.charBits);
      } else {
        if (c >= 2 ** t.charBits || (t.permitted !== null && c <= t.maxCode && t.permitted[c] !== 1)) {
          throw perError(H323Err.PerEncode, `character 0x${c.toString(16)} not permitted in this ${t.name}`);
        }
        w.bits(c, t.charBits);
      }
    }
  }

  #seq(t: SeqType, v: PerValue | undefined): void {
    if (!isObject(v)) throw bad(`${t.name} (an object)`, v);
    const w = this.w;
    let count = 0;
    let unknown: Map<number, Buffer> | undefined;
    if (t.ext !== null) {
      const raw = v[UNKNOWN];
      if (raw !== undefined) {
        if (!Array.isArray(raw)) throw bad(`${UNKNOWN} (an array)`, raw);
        unknown = new Map();
        for (const u of raw) {
          if (!isObject(u) || typeof u.index !== 'number' || !Buffer.isBuffer(u.value)) throw bad('an unknown addition { index, value }', u);
          unknown.set(u.index, u.value);
          count = Math.max(count, u.index + 1);
        }
      }
      t.ext.forEach((f, i) => {
        if (v[f.name] !== undefined) count = Math.max(count, i + 1);
      });
      const forced = v[EXT_COUNT];
      if (typeof forced === 'number') count = Math.max(count, forced);
      w.bit(count > 0);
    }
    let mask = 0;
    for (const f of t.root) if (f.optional) mask = (mask << 1) | (v[f.name] !== undefined ? 1 : 0);
    if (t.nOpt > 0) w.bits(mask, t.nOpt);
    for (const f of t.root) {
      const fv = v[f.name];
      if (fv === undefined) {
        if (f.optional) continue;
        throw perError(H323Err.PerEncode, 'missing').within(f.name);
      }
      try {
        this.value(f.type, fv);
      } catch (e) {
        throw e instanceof PerError ? e.within(f.name) : e;
      }
    }
    if (count === 0) return;
    // 19.8: the bitmap length as a normally small length, then the bitmap, then the open types.
    if (count <= 64) {
      w.bit(0);
      w.bits(count - 1, 6);
    } else {
      w.bit(1);
      this.length(count);
    }
    const ext = t.ext!;
    for (let i = 0; i < count; i++) {
      const f = ext[i];
      const known = f ? v[f.name] !== undefined : false;
      const raw = unknown?.has(i) ?? false;
      if (known && raw) throw perError(H323Err.PerEncode, `extension addition ${i} given both decoded and raw`);
      w.bit(known || raw);
    }
    for (let i = 0; i < count; i++) {
      const f = ext[i];
      const known = f ? v[f.name] : undefined;
      if (known !== undefined) {
        try {
          this.#open(f!.type, known);
        } catch (e) {
          throw e instanceof PerError ? e.within(f!.name) : e;
        }
      } else {
        const raw = unknown?.get(i);
        if (raw) this.#fragmented(raw);
      }
    }
  }

  /** A value as an open type: raw bytes for undescribed types, else its complete encoding in place. */
  #open(t: AsnType, v: PerValue | undefined): void {
    const type = resolve(t);
    if (type.kind === 'opaque') return this.#fragmented(asBuffer(v));
    this.w.openType(() => this.value(type, v));
  }

  #seqOf(t: SeqOfType, v: PerValue | undefined): void {
    if (!Array.isArray(v)) throw bad('SEQUENCE OF (an array)', v);
    const { min, max } = t;
    this.#size(v.length, min, max, 'items');
    const put = (from: number, count: number): void => {
      for (let i = from; i < from + count; i++) {
        try {
          this.value(t.of, v[i]);
        } catch (e) {
          throw e instanceof PerError ? e.within(`[${i}]`) : e;
        }
      }
    };
    if (max !== undefined && max < K64) {
      if (min !== max) this.whole(v.length - min, max - min + 1);
      put(0, v.length);
      return;
    }
    this.#chunks(v.length, put);
  }

  #choice(t: ChoiceType, v: PerValue | undefined): void {
    if (!isObject(v) || typeof v.choice !== 'string') throw bad(`${t.name} ({ choice, value })`, v);
    const w = this.w;
    if (v.choice === UNKNOWN) {
      if (t.ext === null || typeof v.index !== 'number' || !Buffer.isBuffer(v.value)) throw bad(`an unknown ${t.name} alternative { index, value }`, v);
      w.bit(1);
      this.smallNumber(v.index);
      this.#fragmented(v.value);
      return;
    }
    const at = t.index.get(v.choice);
    if (!at) throw perError(H323Err.PerEncode, `'${v.choice}' is not an alternative of ${t.name}`);
    const [isExt, i] = at;
    try {
      if (isExt) {
        const alt = t.ext![i]!;
        w.bit(1);
        this.smallNumber(i);
        this.#open(alt.type, v.value);
      } else {
        if (t.ext !== null) w.bit(0);
        this.whole(i, t.root.length, t.nbits);
        this.value(t.root[i]!.type, v.value);
      }
    } catch (e) {
      throw e instanceof PerError ? e.within(v.choice) : e;
    }
  }
}

const isObject = (v: PerValue | undefined): v is PerObject => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);

function asBuffer(v: PerValue | undefined): Buffer {
  if (!Buffer.isBuffer(v)) throw bad('raw bytes of a type without a description', v);
  return v;
}

function describe(v: PerValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Buffer.isBuffer(v)) return `a Buffer of ${v.length}`;
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v).slice(0, 40)}`;
}

const bad = (want: string, v: PerValue | undefined): PerError => perError(H323Err.PerEncode, `expected ${want}, got ${describe(v)}`);

/** Minimum octets of `v`: two's complement when `signed`, else unsigned (v ≥ 0). */
function bigBytes(v: bigint, signed: boolean): Buffer {
  if (!signed && v < 0n) throw perError(H323Err.PerEncode, `${v} below the lower bound`);
  const out: number[] = [];
  let x = v;
  for (;;) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
    const top = out[out.length - 1]!;
    if (signed ? (x === 0n && (top & 0x80) === 0) || (x === -1n && (top & 0x80) !== 0) : x === 0n) break;
  }
  return Buffer.from(out.reverse());
}

/** The complete encoding of one value (X.691 11.1: an empty encoding becomes one zero octet). */
function complete(t: AsnType, v: PerValue | undefined): Buffer {
  const w = new PerWriter(64);
  new Encoder(w).value(t, v);
  return w.finishComplete();
}

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

/** Low-level access for tests and small hand-written codecs. */
export const perInternals = {
  reader: (buf: Buffer) => new Decoder(new PerReader(buf), true, 48, 0),
  writer: (w: PerWriter) => new Encoder(w),
};
