import t from 'tap';
import fc from 'fast-check';
import { decodeH323, encodeH323 } from '../../../layer2/h323/message.js';
import { decodeRas, encodeRas } from '../../../layer2/h323/ras.js';
import { TpktFramer } from '../../../layer2/h323/tpkt.js';
import { summarizeCall, summarizeRas } from '../../../layer2/h323/summary.js';
import { H323Error } from '../../../layer2/h323/errors.js';
import { vectors, hexFixture } from '../../helpers/h323-fixtures.js';

/**
 * Fuzzing of the decoders: random and mutated bytes may fail, but only with our typed error (an
 * H323Error with a VCP_ERR_H323_ code); whatever decodes can be summarised and encoded again.
 */

const calls = [...vectors('calls.txt').values(), hexFixture('intel-setup-v1.hex')];
const ras = [...vectors('ras.txt').values()];

const typed = (e: unknown): boolean => e instanceof H323Error && e.code.startsWith('VCP_ERR_H323_');

/** Bit flips, truncation, insertion, overwrite of a range: the usual mutators over a seed input. */
const mutate = (seeds: Buffer[]): fc.Arbitrary<Buffer> =>
  fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
          fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
          fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
          fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0x7f, 0x80, 0xc4, 0xff) }),
        ),
        { minLength: 1, maxLength: 4 },
      ),
    )
    .map(([seed, ops]) => {
      let b = Buffer.from(seed);
      for (const o of ops) {
        const at = b.length ? o.at % b.length : 0;
        if (o.op === 'flip' && b.length) b[at]! ^= 1 << o.bit;
        else if (o.op === 'cut') b = b.subarray(0, at);
        else if (o.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(o.bytes), b.subarray(at)]);
        else if (o.op === 'set' && b.length) b[at] = o.value;
      }
      return b;
    });

function callSurvives(b: Buffer): boolean {
  let m;
  try {
    m = decodeH323(b);
  } catch (e) {
    return typed(e);
  }
  summarizeCall(m);
  encodeH323(m);
  return true;
}

function rasSurvives(b: Buffer): boolean {
  let m;
  try {
    m = decodeRas(b);
  } catch (e) {
    return typed(e);
  }
  summarizeRas(m);
  encodeRas(m);
  return true;
}

t.test('Q.931/H.225: mutated vectors fail only with typed errors; what decodes re-encodes', async (t) => {
  fc.assert(fc.property(mutate(calls), callSurvives), { numRuns: 4000, seed: 1 });
  t.pass('4000 mutated call signalling messages');
});

t.test('Q.931/H.225: random bytes behind a valid header and User-user IE', async (t) => {
  const framed = fc.uint8Array({ maxLength: 400 }).map((a) => {
    const body = Buffer.from(a);
    return Buffer.concat([Buffer.from([0x08, 0x02, 0x00, 0x01, 0x05, 0x7e, (body.length + 1) >> 8, (body.length + 1) & 0xff, 0x05]), body]);
  });
  fc.assert(fc.property(framed, callSurvives), { numRuns: 4000, seed: 2 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), callSurvives), { numRuns: 2000, seed: 3 });
  t.pass('6000 random inputs');
});

t.test('RAS: random and mutated datagrams', async (t) => {
  fc.assert(fc.property(mutate(ras), rasSurvives), { numRuns: 4000, seed: 4 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), rasSurvives), { numRuns: 4000, seed: 5 });
  t.pass('8000 datagrams');
});

t.test('TPKT framer: any chunking of any bytes gives messages or a typed error', async (t) => {
  const stream = fc.tuple(fc.array(fc.oneof(mutate(calls.map((c) => Buffer.concat([Buffer.from([3, 0, (c.length + 4) >> 8, (c.length + 4) & 0xff]), c]))), fc.uint8Array({ maxLength: 10 }).map((a) => Buffer.from(a))), { maxLength: 5 }), fc.array(fc.nat(400), { maxLength: 6 }));
  fc.assert(
    fc.property(stream, ([parts, cuts]) => {
      const all = Buffer.concat(parts);
      const f = new TpktFramer(2000);
      let pos = 0;
      try {
        for (const c of [...cuts, all.length]) {
          const end = Math.min(all.length, pos + c);
          f.push(all.subarray(pos, end));
          pos = end;
          for (let it = f.next(); it; it = f.next()) if (it.kind === 'message') callSurvives(it.bytes);
        }
      } catch (e) {
        return typed(e);
      }
      return true;
    }),
    { numRuns: 2000, seed: 6 },
  );
  t.pass('2000 streams');
});
