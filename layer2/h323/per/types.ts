/**
 * ASN.1 types described as data, for the table-driven PER engine in `codec.ts`. A module such as
 * H.225.0 is written with the builders below (`seq`, `choice`, `int`...), which also precompute what
 * the engine needs (optional-field counts, index widths, character tables).
 *
 * Values are plain JS: SEQUENCE → object keyed by component name (absent OPTIONAL components are
 * absent), CHOICE → `{ choice, value }`, SEQUENCE OF → array, INTEGER → number (bigint beyond 2^53),
 * ENUMERATED → name, BOOLEAN → boolean, NULL → null, OCTET STRING and open types → Buffer, BIT STRING
 * → `{ bits, data }`, character strings → string, OBJECT IDENTIFIER → dotted string.
 *
 * Extension additions and alternatives that a description does not know are kept as their raw open
 * type bytes (`_unknown` in a SEQUENCE, `choice: '_unknown'` in a CHOICE), so that a value passed
 * through unchanged encodes to the bytes it came from.
 */

export type PerValue = null | boolean | number | bigint | string | Buffer | PerValue[] | PerObject;
export type PerObject = { [name: string]: PerValue | undefined };

export interface PerChoice {
  choice: string;
  value: PerValue;
  /** Set only on `choice: '_unknown'`: the extension alternative's index. */
  index?: number;
  [name: string]: PerValue | undefined;
}

export interface PerBitString {
  bits: number;
  data: Buffer;
  [name: string]: PerValue | undefined;
}

/** An extension addition a SEQUENCE description does not know, kept as its open type bytes. */
export interface UnknownAddition {
  index: number;
  value: Buffer;
  [name: string]: PerValue | undefined;
}

/** Name of the SEQUENCE member holding unknown extension additions. ASN.1 names never start with `_`. */
export const UNKNOWN = '_unknown';
/** Name of the SEQUENCE member keeping a non-canonical extension bitmap length. */
export const EXT_COUNT = '_extCount';

export interface NullType {
  kind: 'null';
}
export interface BoolType {
  kind: 'bool';
}
export interface IntType {
  kind: 'int';
  lb: number | undefined;
  ub: number | undefined;
  /** `INTEGER (lb..ub, ...)`. */
  ext: boolean;
  /** ub − lb + 1 when both bounds are set, else 0. */
  range: number;
  /** Width of the bit-field when 1 < range ≤ 255. */
  nbits: number;
}
export interface EnumType {
  kind: 'enum';
  root: string[];
  ext: string[] | null;
  nbits: number;
}
export interface OctetsType {
  kind: 'octets';
  min: number;
  max: number | undefined;
}
export interface BitsType {
  kind: 'bits';
  min: number;
  max: number | undefined;
}
export type StringKind = 'IA5String' | 'NumericString' | 'PrintableString' | 'BMPString';
export interface StringType {
  kind: 'string';
  name: StringKind;
  min: number;
  max: number | undefined;
  /** Bits per character in the ALIGNED variant (1, 2, 4, 8 or 16). */
  charBits: number;
  /** Character code → index on the wire (−1: not permitted); null when codes go as themselves. */
  toIndex: Int32Array | null;
  /** Index on the wire → character code; null when codes go as themselves. */
  fromIndex: Uint16Array | null;
  /** Highest permitted code when codes go as themselves (127 for IA5String, 65535 for BMPString). */
  maxCode: number;
  /** Permitted characters when codes go as themselves but not every code below maxCode is allowed. */
  permitted: Uint8Array | null;
}
export interface OidType {
  kind: 'oid';
}
export interface Field {
  name: string;
  type: AsnType;
  optional: boolean;
}
export interface SeqType {
  kind: 'seq';
  name: string;
  root: Field[];
  /** Extension additions in order; null when the type has no extension marker. */
  ext: Field[] | null;
  /** Number of OPTIONAL root components (the length of the presence bitmap). */
  nOpt: number;
}
export interface SeqOfType {
  kind: 'seqof';
  of: AsnType;
  min: number;
  max: number | undefined;
}
export interface Alternative {
  name: string;
  type: AsnType;
}
export interface ChoiceType {
  kind: 'choice';
  name: string;
  root: Alternative[];
  ext: Alternative[] | null;
  nbits: number;
  /** name → [is extension, index]. */
  index: Map<string, readonly [boolean, number]>;
}
/** `TYPE-IDENTIFIER.&Type(T)`: T's complete encoding carried as an unconstrained-length octet string. */
export interface OpenType {
  kind: 'open';
  of: AsnType;
}
/** A type from another module that we do not describe; legal only where an open type wraps it. */
export interface OpaqueType {
  kind: 'opaque';
  name: string;
}
/** A reference resolved on first use: lets descriptions be recursive and declared in any order. */
export interface LazyType {
  kind: 'lazy';
  name: string;
  resolve: () => AsnType;
}

export type AsnType =
  | NullType
  | BoolType
  | IntType
  | EnumType
  | OctetsType
  | BitsType
  | StringType
  | OidType
  | SeqType
  | SeqOfType
  | ChoiceType
  | OpenType
  | OpaqueType
  | LazyType;

/** Bits needed for the values 0 .. range−1. */
export function bitsFor(range: number): number {
  let n = 0;
  while (2 ** n < range) n++;
  return n;
}

export const NULL: NullType = { kind: 'null' };
export const BOOLEAN: BoolType = { kind: 'bool' };
export const OID: OidType = { kind: 'oid' };

/** `INTEGER`, `INTEGER (lb..MAX)`, `INTEGER (lb..ub)` or `INTEGER (lb..ub, ...)`. */
export function int(lb?: number, ub?: number, ext = false): IntType {
  const range = lb !== undefined && ub !== undefined ? ub - lb + 1 : 0;
  return { kind: 'int', lb, ub, ext, range, nbits: range > 1 && range <= 255 ? bitsFor(range) : 0 };
}

/** `ENUMERATED { root..., ... ext }`; pass `ext` (possibly empty) when the type has an extension marker. */
export function enumerated(root: string[], ext?: string[]): EnumType {
  return { kind: 'enum', root, ext: ext ?? null, nbits: bitsFor(root.length) };
}

/** `OCTET STRING`, `(SIZE (n))` with one argument, `(SIZE (min..max))` with two. */
export function octets(min?: number, max?: number): OctetsType {
  if (min === undefined) return { kind: 'octets', min: 0, max: undefined };
  return { kind: 'octets', min, max: max === undefined ? min : max };
}

export function bitString(min?: number, max?: number): BitsType {
  if (min === undefined) return { kind: 'bits', min: 0, max: undefined };
  return { kind: 'bits', min, max: max === undefined ? min : max };
}

/** `SEQUENCE OF T`, `SEQUENCE (SIZE (min..max)) OF T`. */
export function seqOf(of: AsnType, min?: number, max?: number): SeqOfType {
  return { kind: 'seqof', of, min: min ?? 0, max };
}

export const open = (of: AsnType): OpenType => ({ kind: 'open', of });
export const opaque = (name: string): OpaqueType => ({ kind: 'opaque', name });

/** A named reference to a type defined later (or recursively). */
export function lazy(name: string, get: () => AsnType): LazyType {
  let cached: AsnType | undefined;
  return {
    kind: 'lazy',
    name,
    resolve: () => {
      if (cached) return cached;
      let t = get();
      while (t.kind === 'lazy') t = t.resolve();
      cached = t;
      return t;
    },
  };
}

const IA5_ALL = (() => {
  let s = '';
  for (let c = 0; c < 128; c++) s += String.fromCharCode(c);
  return s;
})();
const PRINTABLE = " '()+,-./0123456789:=?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const NUMERIC = ' 0123456789';

/**
 * A known-multiplier character string (X.691 clause 30). `alphabet` is a permitted-alphabet
 * constraint (`FROM ("0123456789#*,")`). In the ALIGNED variant a character takes the smallest power
 * of two bits that holds the alphabet's size; characters go as their own codes when the highest code
 * fits in that width, otherwise as their index in the sorted alphabet.
 */
export function charString(name: StringKind, min?: number, max?: number, alphabet?: string): StringType {
  const lo = min ?? 0;
  const hi = min === undefined ? undefined : max === undefined ? min : max;
  if (name === 'BMPString' && alphabet === undefined) {
    return { kind: 'string', name, min: lo, max: hi, charBits: 16, toIndex: null, fromIndex: null, maxCode: 0xffff, permitted: null };
  }
  const chars = alphabet ?? (name === 'IA5String' ? IA5_ALL : name === 'PrintableString' ? PRINTABLE : NUMERIC);
  const codes = [...new Set([...chars].map((c) => c.charCodeAt(0)))].sort((a, b) => a - b);
  const n = codes.length;
  let b = bitsFor(n);
  let charBits = 1;
  while (charBits < b) charBits *= 2;
  b = charBits;
  const maxCode = codes[n - 1]!;
  if (maxCode <= 2 ** b - 1) {
    const permitted = new Uint8Array(maxCode + 1);
    for (const c of codes) permitted[c] = 1;
    const all = codes.length === maxCode + 1;
    return { kind: 'string', name, min: lo, max: hi, charBits: b, toIndex: null, fromIndex: null, maxCode, permitted: all ? null : permitted };
  }
  const toIndex = new Int32Array(maxCode + 1).fill(-1);
  const fromIndex = new Uint16Array(n);
  codes.forEach((c, i) => {
    toIndex[c] = i;
    fromIndex[i] = c;
  });
  return { kind: 'string', name, min: lo, max: hi, charBits: b, toIndex, fromIndex, maxCode, permitted: null };
}

export const ia5 = (min?: number, max?: number, alphabet?: string): StringType => charString('IA5String', min, max, alphabet);
export const bmp = (min?: number, max?: number): StringType => charString('BMPString', min, max);
export const printable = (min?: number, max?: number): StringType => charString('PrintableString', min, max);
export const numeric = (min?: number, max?: number): StringType => charString('NumericString', min, max);

/** Marks a SEQUENCE component OPTIONAL. */
export interface Opt {
  opt: AsnType;
}
export const opt = (t: AsnType): Opt => ({ opt: t });

type Components = Record<string, AsnType | Opt>;

function fields(c: Components): Field[] {
  return Object.entries(c).map(([name, t]) => ('opt' in t ? { name, type: t.opt, optional: true } : { name, type: t, optional: false }));
}

/**
 * `SEQUENCE { root..., ... ext }`. Pass `ext` (possibly `{}`) when the type has an extension marker.
 * Extension additions are optional on the wire whatever the description says: an older encoder
 * does not know them.
 */
export function seq(name: string, root: Components, ext?: Components): SeqType {
  const r = fields(root);
  return { kind: 'seq', name, root: r, ext: ext ? fields(ext).map((f) => ({ ...f, optional: true })) : null, nOpt: r.filter((f) => f.optional).length };
}

/** `CHOICE { root..., ... ext }`. Pass `ext` (possibly `{}`) when the type has an extension marker. */
export function choice(name: string, root: Record<string, AsnType>, ext?: Record<string, AsnType>): ChoiceType {
  const r = Object.entries(root).map(([n, type]) => ({ name: n, type }));
  const e = ext ? Object.entries(ext).map(([n, type]) => ({ name: n, type })) : null;
  const index = new Map<string, readonly [boolean, number]>();
  r.forEach((a, i) => index.set(a.name, [false, i]));
  e?.forEach((a, i) => index.set(a.name, [true, i]));
  return { kind: 'choice', name, root: r, ext: e, nbits: bitsFor(r.length), index };
}

/** A CHOICE whose alternatives are all NULL, the common H.225 "reason" shape. */
export function nullChoice(name: string, root: string[], ext?: string[]): ChoiceType {
  const obj = (names: string[]): Record<string, AsnType> => Object.fromEntries(names.map((n) => [n, NULL]));
  return choice(name, obj(root), ext ? obj(ext) : undefined);
}
