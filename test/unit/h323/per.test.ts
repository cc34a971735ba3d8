import t, { type Test } from 'tap';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { perDecode, perEncode, perDecodeAt, oidToBytes, oidToString } from '../../../layer2/h323/per/codec.js';
import { PerReader } from '../../../layer2/h323/per/reader.js';
import { PerWriter } from '../../../layer2/h323/per/writer.js';
import {
  bitString,
  bmp,
  BOOLEAN,
  choice,
  enumerated,
  ia5,
  int,
  lazy,
  NULL,
  numeric,
  OID,
  octets,
  opaque,
  open,
  opt,
  printable,
  seq,
  seqOf,
  type AsnType,
  type PerValue,
} from '../../../layer2/h323/per/types.js';
import { PerError } from '../../../layer2/h323/errors.js';
import { bits, hex } from '../../helpers/bits.js';
import { throwsWith } from '../../helpers/assert.js';

/** encode gives `expected`, and decoding `expected` gives the value back (strictly). */
function both(t: Test, type: AsnType, value: PerValue, expected: Buffer, name: string): void {
  t.equal(perEncode(type, value).toString('hex'), expected.toString('hex'), `${name}: encodes as X.691 says`);
  t.same(perDecode(type, expected, { strict: true }), value, `${name}: decodes back`);
}

const withBool = (inner: AsnType) => seq('S', { a: BOOLEAN, b: inner });

t.test('constrained whole numbers: bit-field, one octet, two octets, indefinite length', async (t) => {
  both(t, int(0, 7), 5, bits().b('101').buffer(), '0..7');
  both(t, withBool(int(0, 255)), { a: true, b: 5 }, bits().b('1').align().u(5, 8).buffer(), '0..255 is one aligned octet');
  both(t, withBool(int(0, 254)), { a: true, b: 5 }, bits().b('1').u(5, 8).buffer(), '0..254 is an 8-bit field, not aligned');
  both(t, withBool(int(0, 65535)), { a: true, b: 0x1234 }, bits().b('1').align().hex('1234').buffer(), '0..65535 two aligned octets');
  both(t, withBool(int(0, 4294967295)), { a: true, b: 0x1234 }, bits().b('1').b('01').align().hex('1234').buffer(), '0..2^32-1: 2-bit octet count, aligned value');
  both(t, withBool(int(1, 4294967295)), { a: false, b: 1 }, bits().b('0').b('00').align().hex('00').buffer(), '1..2^32-1 minimum value');
  both(t, withBool(int(0, 4294967295)), { a: false, b: 4294967295 }, bits().b('0').b('11').align().hex('ffffffff').buffer(), 'four octets');
  both(t, int(5, 5), 5, Buffer.alloc(1), 'range 1 takes no bits (a complete empty encoding is one zero octet)');
  both(t, int(-3, 3), -3, bits().b('000').buffer(), 'negative lower bound is an offset');
});

t.test('semi-constrained, unconstrained and extensible integers', async (t) => {
  both(t, int(), -1, hex('01ff'), 'unconstrained -1');
  both(t, int(), 128, hex('020080'), 'unconstrained 128 needs a sign octet');
  both(t, int(), -129, hex('02ff7f'), 'unconstrained -129');
  both(t, int(0), 256, hex('020100'), 'semi-constrained 256');
  both(t, int(), 2n ** 63n, hex('09008000000000000000'), 'beyond 2^53 as bigint');
  both(t, int(0, 16383, true), 5, bits().b('0').align().hex('0005').buffer(), 'extensible, in the root');
  both(t, int(0, 16383, true), 20000, bits().b('1').align().hex('024e20').buffer(), 'extensible, outside the root: unconstrained');
});

t.test('length determinants: short, two-octet and 16K fragments', async (t) => {
  const data = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff));
  both(t, octets(), data(3), hex('03 000102'), '3 octets');
  both(t, octets(), data(200), Buffer.concat([hex('80c8'), data(200)]), '200 octets: 10xxxxxx xxxxxxxx');
  const k16 = data(16384);
  both(t, octets(), k16, Buffer.concat([hex('c1'), k16, hex('00')]), 'exactly 16K: one fragment then a zero length');
  const big = data(40000);
  both(t, octets(), big, Buffer.concat([hex('c2'), big.subarray(0, 32768), hex('9c40'), big.subarray(32768)]), '40000: 32K fragment then 7232');
  const huge = data(70000);
  both(t, octets(), huge, Buffer.concat([hex('c4'), huge.subarray(0, 65536), hex('9170'), huge.subarray(65536)]), '70000: 64K fragment then 4464');
  const items = Array.from({ length: 16385 }, () => true);
  const e = perEncode(seqOf(BOOLEAN), items);
  t.equal(e[0], 0xc1, 'SEQUENCE OF counts fragment too');
  t.equal(e[1 + 2048], 0x01, 'then the remaining count');
  t.same(perDecode(seqOf(BOOLEAN), e, { strict: true }), items);
});

t.test('octet and bit strings: fixed sizes up to 2 octets / 16 bits are not aligned', async (t) => {
  both(t, withBool(octets(2)), { a: true, b: hex('ffff') }, bits().b('1').hex('ffff').buffer(), 'SIZE (2) unaligned');
  both(t, withBool(octets(4)), { a: true, b: hex('0a000001') }, bits().b('1').align().hex('0a000001').buffer(), 'SIZE (4) aligned');
  both(t, withBool(octets(1, 256)), { a: true, b: hex('aabb') }, bits().b('1').align().u(1, 8).hex('aabb').buffer(), 'SIZE (1..256): n-1 in one aligned octet');
  both(t, withBool(octets(1, 20)), { a: true, b: hex('aabb') }, bits().b('1').u(1, 5).align().hex('aabb').buffer(), 'SIZE (1..20): 5-bit length, then aligned');
  both(t, withBool(bitString(32)), { a: true, b: { bits: 32, data: hex('01020304') } }, bits().b('1').align().hex('01020304').buffer(), 'BIT STRING SIZE (32) aligned');
  both(t, withBool(bitString(3)), { a: true, b: { bits: 3, data: hex('a0') } }, bits().b('1').b('101').buffer(), 'BIT STRING SIZE (3) unaligned');
  both(t, withBool(bitString(0, 2048)), { a: true, b: { bits: 3, data: hex('a0') } }, bits().b('1').align().hex('0003').b('101').buffer(), 'BIT STRING (0..2048): 2-octet length');
  both(t, bitString(), { bits: 12, data: hex('abc0') }, hex('0c abc0'), 'unconstrained BIT STRING');
});

t.test('character strings: permitted alphabets, widths and remapping', async (t) => {
  const digits = ia5(1, 128, '0123456789#*,');
  // 13 characters → 4 bits; '9' (57) does not fit 4 bits, so indexes in the sorted alphabet # * , 0..9.
  both(t, digits, '8001', bits().u(3, 7).align().u(11, 4).u(3, 4).u(3, 4).u(4, 4).buffer(), 'dialledDigits');
  both(t, digits, '#*,', bits().u(2, 7).align().u(0, 4).u(1, 4).u(2, 4).buffer(), 'digits alphabet order');
  both(t, bmp(1, 256), 'Ré', bits().u(1, 8).hex('0052 00e9').buffer(), 'BMPString: n-1 octet, 16-bit characters');
  both(t, ia5(1, 512), 'h323:a', bits().hex('0005').hex(Buffer.from('h323:a')).buffer(), 'IA5String (1..512): 2-octet length, 8-bit characters');
  both(t, ia5(), 'en', hex('02 656e'), 'unconstrained IA5String');
  both(t, numeric(), '12 3', bits().u(4, 8).u(2, 4).u(3, 4).u(0, 4).u(4, 4).buffer(), 'NumericString: space=0, digits 1..10');
  both(t, printable(), 'Ab', hex('02 4162'), 'PrintableString as its own codes');
  const tbcd = bits().b('1').align();
  for (const i of [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0, 1, 2]) tbcd.u(i, 4);
  both(t, withBool(ia5(16, 16, '0123456789#*abc')), { a: true, b: '0123456789abc#*0' }, tbcd.buffer(), 'fixed 16 × 4 bits is aligned');
  both(t, withBool(ia5(2, 2)), { a: true, b: 'ab' }, bits().b('1').hex('6162').buffer(), 'fixed 2×8 bits is not aligned');
  throwsWith(t, () => perEncode(digits, '12a'), { code: 'VCP_ERR_H323_PER_ENCODE' }, 'a character outside the alphabet is refused');
  throwsWith(t, () => perDecode(digits, bits().u(0, 7).align().u(13, 4).buffer()), { code: 'VCP_ERR_H323_PER_CONSTRAINT' }, 'an index outside the alphabet is refused');
  throwsWith(t, () => perDecode(printable(), hex('01 40'), { strict: true }), { code: 'VCP_ERR_H323_PER_CONSTRAINT' }, '@ is not printable');
  t.equal(perDecode(ia5(), hex('01 e9')), '\u00e9', 'lenient: an 8-bit IA5 code is read as Latin-1');
  throwsWith(t, () => perDecode(ia5(), hex('01 e9'), { strict: true }), { code: 'VCP_ERR_H323_PER_CONSTRAINT' }, 'strict: IA5 stops at 127');
});

t.test('object identifiers', async (t) => {
  both(t, OID, '0.0.8.2250.0.4', hex('06 0008914a0004'), 'H.225.0 version 4');
  both(t, OID, '2.999.1', hex('03 883701'), 'first arc 2 folds the second in');
  t.equal(oidToString(oidToBytes('1.3.6.1.4.1.311.20.2')), '1.3.6.1.4.1.311.20.2');
  throwsWith(t, () => perEncode(OID, '1.40'), { code: 'VCP_ERR_H323_PER_ENCODE' });
  throwsWith(t, () => perDecode(OID, hex('02 8001')), { code: 'VCP_ERR_H323_PER_CONSTRAINT' }, 'leading 0x80 in an arc');
  throwsWith(t, () => perDecode(OID, hex('01 88')), { code: 'VCP_ERR_H323_PER_CONSTRAINT' }, 'ends inside an arc');
});

const V1 = seq('V', { a: int(0, 3), b: opt(BOOLEAN) }, { c: opt(int(0, 255)) });
const V2 = seq('V', { a: int(0, 3), b: opt(BOOLEAN) }, { c: opt(int(0, 255)), d: opt(ia5()), e: NULL });

t.test('SEQUENCE: optional bitmap, extension bitmap, additions as open types', async (t) => {
  both(t, V1, { a: 2, b: true }, bits().b('0').b('1').b('10').b('1').buffer(), 'root only');
  both(
    t,
    V1,
    { a: 2, c: 7 },
    // ext bit, bitmap (b absent), a, then a normally small length (1 → 0 000000), the bitmap '1', the open type.
    bits().b('1').b('0').b('10').b('0000000').b('1').align().hex('01 07').buffer(),
    'one addition',
  );
  both(
    t,
    V2,
    { a: 0, c: 1, e: null },
    bits().b('1 0 00').b('0 000010').b('101').align().hex('01 01').hex('01 00').buffer(),
    'a NULL addition is one zero octet',
  );
});

t.test('unknown extension additions survive a pass through an older description', async (t) => {
  const v2 = { a: 1, b: false, c: 9, d: 'new', e: null };
  const bytes = perEncode(V2, v2);
  const seen = perDecode(V1, bytes, { strict: true }) as Record<string, unknown>;
  t.equal(seen.c, 9, 'the known addition is decoded');
  t.match(seen._unknown, [{ index: 1, value: hex('03 6e6577') }, { index: 2, value: hex('00') }], 'the others are kept raw');
  t.equal(perEncode(V1, seen as PerValue).toString('hex'), bytes.toString('hex'), 're-encodes to the same bytes');
  t.same(perDecode(V2, perEncode(V1, seen as PerValue), { strict: true }), v2, 'the newer description still reads everything');
});

t.test('open types of 128 octets and more: two-octet lengths and 16K fragments around the inner encoding', async (t) => {
  const Big = seq('Big', {}, { blob: opt(octets()) });
  const data = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) & 0xff));
  const mid = data(200);
  const inner200 = Buffer.concat([hex('80c8'), mid]);
  both(t, Big, { blob: mid }, Buffer.concat([bits().b('1').b('0 000000').b('1').align().buffer(), hex('80ca'), inner200]), '202-octet open type');
  const big = data(20000);
  const inner = Buffer.concat([hex('c1'), big.subarray(0, 16384), hex('8e20'), big.subarray(16384)]);
  t.equal(inner.length, 20003);
  const expected = Buffer.concat([bits().b('1').b('0 000000').b('1').align().buffer(), hex('c1'), inner.subarray(0, 16384), hex('8e23'), inner.subarray(16384)]);
  both(t, Big, { blob: big }, expected, '20003-octet open type in fragments');
  const Two = seq('Two', { a: BOOLEAN }, { x: opt(octets()), y: opt(octets()) });
  both(t, Two, { a: true, x: mid, y: hex('0102') }, Buffer.concat([bits().b('1 1').b('0 000001').b('11').align().buffer(), hex('80ca'), inner200, hex('03 02 0102')]), 'a long addition followed by a short one');
});

t.test('a non-canonical extension bitmap length is kept', async (t) => {
  // Three additions signalled, only the first present (an encoder that sizes the bitmap to all it knows).
  const bytes = bits().b('1 0 01').b('0 000010').b('100').align().hex('01 05').buffer();
  const v = perDecode(V2, bytes, { strict: true }) as Record<string, unknown>;
  t.equal(v._extCount, 3);
  t.equal(perEncode(V2, v as PerValue).toString('hex'), bytes.toString('hex'));
  const empty = bits().b('1 0 01').b('0 000000').b('0').buffer();
  const w = perDecode(V1, empty, { strict: true }) as Record<string, unknown>;
  t.equal(perEncode(V1, w as PerValue).toString('hex'), empty.toString('hex'), 'extension bit set with nothing present');
});

t.test('a known addition that does not decode: kept raw (lenient) or refused (strict)', async (t) => {
  // c claims to hold 2 octets but an INTEGER (0..255) takes one.
  const bytes = bits().b('1 0 00').b('0 000000').b('1').align().hex('02 0707').buffer();
  const v = perDecode(V1, bytes) as Record<string, unknown>;
  t.equal(v.c, undefined);
  t.match(v._unknown, [{ index: 0, value: hex('0707') }]);
  t.equal(perEncode(V1, v as PerValue).toString('hex'), bytes.toString('hex'), 'and goes out as it came');
  throwsWith(t, () => perDecode(V1, bytes, { strict: true }), { code: 'VCP_ERR_H323_PER_CONSTRAINT', path: ['c'] });
});

const C = choice('C', { x: NULL, y: int(0, 1), z: BOOLEAN }, { w: ia5(), v: opaque('Imported') });

t.test('CHOICE: root index bits, extension alternatives, unknown alternatives', async (t) => {
  both(t, C, { choice: 'z', value: true }, bits().b('0').b('10').b('1').buffer(), 'root alternative');
  both(t, C, { choice: 'w', value: 'hi' }, bits().b('1').b('0 000000').align().hex('03 02 6869').buffer(), 'extension alternative as an open type');
  both(t, C, { choice: 'v', value: hex('abcd') }, bits().b('1').b('0 000001').align().hex('02 abcd').buffer(), 'an opaque alternative is kept as bytes');
  const far = bits().b('1').b('1').align().hex('01 46').hex('01 ff').buffer();
  both(t, C, { choice: '_unknown', index: 70, value: hex('ff') }, far, 'index 70: not a small number, kept raw');
  throwsWith(t, () => perDecode(choice('D', { a: NULL, b: NULL, c: NULL }), bits().b('11').buffer()), { code: 'VCP_ERR_H323_PER_CONSTRAINT' }, 'index 3 of 3');
  throwsWith(t, () => perEncode(C, { choice: 'nope', value: null }), { code: 'VCP_ERR_H323_PER_ENCODE' });
});

t.test('ENUMERATED with an extension marker', async (t) => {
  const E = enumerated(['a', 'b', 'c', 'd'], ['e']);
  both(t, E, 'd', bits().b('0 11').buffer(), 'root value');
  both(t, E, 'e', bits().b('1 0 000000').buffer(), 'extension value');
  both(t, E, 9, bits().b('1 0 001001').buffer(), 'unknown extension value kept as its index');
});

t.test('a normally small length above 64: the extension bitmap of a long list of additions', async (t) => {
  const ext: Record<string, ReturnType<typeof opt>> = {};
  for (let i = 0; i < 70; i++) ext[`f${i}`] = opt(BOOLEAN);
  const Long = seq('Long', {}, ext);
  const bytes = perEncode(Long, { f69: true });
  const expect = bits().b('1').b('1').align().hex('46');
  for (let i = 0; i < 69; i++) expect.b('0');
  expect.b('1').align().hex('01 80');
  t.equal(bytes.toString('hex'), expect.buffer().toString('hex'));
  t.same(perDecode(Long, bytes, { strict: true }), { f69: true });
});

t.test('open types (TYPE-IDENTIFIER.&Type) hold a complete encoding', async (t) => {
  const O = seq('O', { inner: open(seq('I', { n: int(0, 7) })) });
  both(t, O, { inner: { n: 3 } }, hex('01 60'), 'decoded inner value');
  t.same(perDecode(O, hex('02 6000')), { inner: hex('6000') }, 'lenient: an inner value that does not fill its octets stays raw');
  t.equal(perEncode(O, { inner: hex('6000') }).toString('hex'), '026000');
});

t.test('errors: truncation, depth, constraint, encoding; paths name the field', async (t) => {
  const S = seq('S', { id: int(0, 65535), name: opt(bmp(1, 10)) });
  throwsWith(t, () => perDecode(S, hex('00')), { code: 'VCP_ERR_H323_PER_TRUNCATED' });
  throwsWith(t, () => perDecode(S, hex('80 0001 30 0041')), { code: 'VCP_ERR_H323_PER_TRUNCATED', path: ['name'] });
  throwsWith(t, () => perEncode(S, { name: 'x' }), { code: 'VCP_ERR_H323_PER_ENCODE', path: ['id'] });
  throwsWith(t, () => perEncode(S, { id: 70000 }), { code: 'VCP_ERR_H323_PER_ENCODE', path: ['id'] });
  throwsWith(t, () => perEncode(S, { id: 1, name: '' }), { code: 'VCP_ERR_H323_PER_ENCODE', path: ['name'] });
  const Nest: AsnType = choice('Nest', { leaf: NULL, more: lazy('Nest', () => Nest) });
  const deep = bits();
  for (let i = 0; i < 100; i++) deep.b('1');
  throwsWith(t, () => perDecode(Nest, deep.b('0').buffer()), { code: 'VCP_ERR_H323_PER_DEPTH' });
  t.same(perDecode(Nest, bits().b('110').buffer()), { choice: 'more', value: { choice: 'more', value: { choice: 'leaf', value: null } } });
  throwsWith(t, () => perDecode(seqOf(int(0, 255)), hex('7f 01')), { code: 'VCP_ERR_H323_PER_TRUNCATED' }, 'a count larger than the bits left');
  throwsWith(t, () => perDecode(octets(), hex('c5')), { code: 'VCP_ERR_H323_PER_CONSTRAINT' }, 'fragment size 5');
  throwsWith(t, () => perDecode(int(0, 9), hex('f0')), { code: 'VCP_ERR_H323_PER_CONSTRAINT' }, '15 in 0..9');
  throwsWith(t, () => perDecode(opaque('X'), hex('00')), { code: 'VCP_ERR_H323_PER_CONSTRAINT' });
  throwsWith(t, () => perDecode(V1, hex('00 00'), { strict: true }), { code: 'VCP_ERR_H323_PER_CONSTRAINT' }, 'strict: octets after the value');
  const e = (() => {
    try {
      perDecode(S, hex('80 0001 30 0041'));
    } catch (err) {
      return err;
    }
  })();
  t.type(e, PerError);
  t.match((e as Error).message, /^name: /);
});

t.test('reader and writer primitives', async (t) => {
  const w = new PerWriter(1);
  w.bit(1);
  w.bits(0x2aaaaaaaaaaa, 46);
  w.align();
  w.octets(hex('0102'));
  w.bitField(hex('f0'), 4);
  const b = w.finish();
  const r = new PerReader(b);
  t.equal(r.bit(), 1);
  t.equal(r.bits(46), 0x2aaaaaaaaaaa);
  r.align();
  t.same(r.octets(2), hex('0102'));
  t.same(r.bitField(4), hex('f0'));
  t.equal(r.bitsLeft, 4);
  t.equal(perDecodeAt(int(0, 255), hex('aa 07'), 1).value, 7, 'decode at an offset');
});

/** A schema touching every kind, for the property test. */
const Alias = choice('Alias', { digits: ia5(1, 16, '0123456789#*,'), id: bmp(1, 20) }, { url: ia5(1, 64), any: seqOf(octets(0, 3)) });
const Rec = seq(
  'Rec',
  {
    n: int(0, 300),
    big: int(0, 4294967295),
    s: int(),
    flag: BOOLEAN,
    tag: opt(octets(2)),
    guid: octets(16),
    aliases: opt(seqOf(Alias, 0, 4)),
    kind: enumerated(['a', 'b', 'c'], ['d']),
    oid: OID,
    bits: opt(bitString(0, 20)),
  },
  { extra: opt(int(0, 7)), name: opt(printable(1, 8)), more: opt(Alias) },
);

const arbAlias = fc.oneof(
  fc.stringMatching(/^[0-9#*,]{1,16}$/).map((v) => ({ choice: 'digits', value: v })),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((s) => s.length >= 1 && s.length <= 20).map((v) => ({ choice: 'id', value: v })),
  fc.stringMatching(/^[ -~]{1,64}$/).map((v) => ({ choice: 'url', value: v })),
  fc.array(fc.uint8Array({ maxLength: 3 }).map((a) => Buffer.from(a)), { maxLength: 3 }).map((v) => ({ choice: 'any', value: v })),
);

const arbRec = fc.record(
  {
    n: fc.integer({ min: 0, max: 300 }),
    big: fc.integer({ min: 0, max: 4294967295 }),
    s: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    flag: fc.boolean(),
    tag: fc.uint8Array({ minLength: 2, maxLength: 2 }).map((a) => Buffer.from(a)),
    guid: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a)),
    aliases: fc.array(arbAlias, { maxLength: 4 }),
    kind: fc.constantFrom('a', 'b', 'c', 'd'),
    oid: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(fc.nat(2 ** 32), { maxLength: 5 })).map(([a, b, r]) => [a, b, ...r].join('.')),
    bits: fc.integer({ min: 0, max: 20 }).chain((n) => fc.uint8Array({ minLength: Math.ceil(n / 8), maxLength: Math.ceil(n / 8) }).map((a) => ({ bits: n, data: maskTail(Buffer.from(a), n) }))),
    extra: fc.integer({ min: 0, max: 7 }),
    name: fc.stringMatching(/^[A-Za-z0-9 '()+,./:=?-]{1,8}$/),
    more: arbAlias,
  },
  { requiredKeys: ['n', 'big', 's', 'flag', 'guid', 'kind', 'oid'], noNullPrototype: true },
);

function maskTail(b: Buffer, n: number): Buffer {
  if (n % 8 && b.length) b[b.length - 1]! &= (0xff << (8 - (n % 8))) & 0xff;
  return b;
}

t.test('property: decode(encode(v)) = v and re-encoding is stable', async (t) => {
  fc.assert(
    fc.property(arbRec, (v) => {
      const bytes = perEncode(Rec, v as PerValue);
      const back = perDecode(Rec, bytes, { strict: true });
      return isDeepStrictEqual(back, v) && perEncode(Rec, back).equals(bytes);
    }),
    { numRuns: 500 },
  );
  t.pass('500 generated records round-trip');
});
