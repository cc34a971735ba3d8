import { H323Err, PerError, perError } from '../errors.js';
import { K16, K64, octetsFor, resolve } from './common.js';
import { oidToBytes } from './oid.js';
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
  type PerObject,
  type PerValue,
  type SeqOfType,
  type SeqType,
  type StringType,
} from './types.js';

/** The PER encoder: walks a description and a value into a bit writer. */

export class Encoder {
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
export function complete(t: AsnType, v: PerValue | undefined): Buffer {
  const w = new PerWriter(64);
  new Encoder(w).value(t, v);
  return w.finishComplete();
}
