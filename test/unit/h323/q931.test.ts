import t from 'tap';
import { TpktFramer, tpkt, type TpktItem } from '../../../layer2/h323/tpkt.js';
import { decodeQ931, encodeQ931, findIe, setIe, messageTypeName, Ie, MsgType } from '../../../layer2/h323/q931.js';
import {
  decodeBearer,
  encodeBearer,
  decodeCause,
  encodeCause,
  decodePartyNumber,
  encodePartyNumber,
  decodeProgress,
  encodeProgress,
  decodeDisplay,
  encodeDisplay,
} from '../../../layer2/h323/q931-ie.js';
import { hex } from '../../helpers/bits.js';
import { throwsWith } from '../../helpers/assert.js';
import { vectors } from '../../helpers/h323-fixtures.js';

const drain = (f: TpktFramer): TpktItem[] => {
  const out: TpktItem[] = [];
  for (let it = f.next(); it; it = f.next()) out.push(it);
  return out;
};

const msgs = [...vectors('calls.txt').values()];

t.test('TPKT: whole messages, views without copies', async (t) => {
  const f = new TpktFramer();
  const a = tpkt(msgs[0]!);
  const b = tpkt(msgs[1]!);
  const chunk = Buffer.concat([a, b]);
  f.push(chunk);
  const items = drain(f);
  t.equal(items.length, 2);
  t.same(items.map((i) => (i.kind === 'message' ? i.bytes : null)), [msgs[0], msgs[1]]);
  const first = items[0]!;
  t.equal(first.kind === 'message' && first.bytes.buffer, chunk.buffer, 'a message in one chunk is a view of it');
  t.equal(f.pending, 0);
});

t.test('TPKT: split at every offset, including inside the header', async (t) => {
  const stream = Buffer.concat([tpkt(msgs[0]!), hex('03000004'), tpkt(msgs[2]!), hex('00030004'), tpkt(msgs[3]!)]);
  const want = [msgs[0], 'keepalive', msgs[2], 'keepalive', msgs[3]];
  for (let cut = 0; cut <= stream.length; cut++) {
    for (const second of [stream.length, Math.min(stream.length, cut + 7)]) {
      const f = new TpktFramer();
      const got: unknown[] = [];
      for (const part of [stream.subarray(0, cut), stream.subarray(cut, second), stream.subarray(second)]) {
        f.push(part);
        for (const it of drain(f)) got.push(it.kind === 'keepalive' ? 'keepalive' : Buffer.from(it.bytes));
      }
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        t.fail(`split at ${cut}/${second}`);
        return;
      }
    }
  }
  t.pass(`every split of ${stream.length} bytes gives the same messages`);
});

t.test('TPKT quirks and limits', async (t) => {
  const f = new TpktFramer();
  f.push(hex('03 07 0008 08 01 01 5a'));
  t.same(drain(f), [{ kind: 'message', bytes: hex('08 01 01 5a') }], 'a non-zero reserved octet is accepted');
  const g = new TpktFramer(100);
  g.push(hex('03 00 0069'));
  throwsWith(t, () => g.next(), { code: 'VCP_ERR_H323_TOO_LARGE' }, 'refused from the header alone, before buffering');
  const h = new TpktFramer();
  h.push(hex('16 03 01 00'));
  throwsWith(t, () => h.next(), { code: 'VCP_ERR_H323_TPKT' }, 'a TLS hello is not TPKT');
  const k = new TpktFramer();
  k.push(hex('03 00 0002'));
  throwsWith(t, () => k.next(), { code: 'VCP_ERR_H323_TPKT' }, 'length below the header');
  throwsWith(t, () => tpkt(Buffer.alloc(70000)), { code: 'VCP_ERR_H323_TOO_LARGE' });
  const w = new TpktFramer();
  w.push(hex('03 00 00'));
  t.equal(w.next(), undefined, 'three octets of header: wait');
  t.equal(w.pending, 3);
});

t.test('Q.931 header: call reference lengths 0, 1 and 2, the flag, message types', async (t) => {
  const m2 = decodeQ931(hex('08 02 80 2a 07'));
  t.same(m2, { callReference: 42, callReferenceLength: 2, fromDestination: true, type: MsgType.Connect, ies: [] });
  const m1 = decodeQ931(hex('08 01 85 5a'));
  t.same([m1.callReference, m1.callReferenceLength, m1.fromDestination, m1.type], [5, 1, true, 0x5a]);
  const m0 = decodeQ931(hex('08 00 62 1c 00'));
  t.same([m0.callReference, m0.callReferenceLength, m0.type, m0.ies.length], [0, 0, 0x62, 1], 'dummy call reference (H.460.17)');
  for (const b of [hex('08 02 80 2a 07'), hex('08 01 85 5a'), hex('08 00 62 1c 00')]) t.same(encodeQ931(decodeQ931(b)), b);
  t.equal(messageTypeName(0x05), 'Setup');
  t.equal(messageTypeName(0x4f), '0x4f');
  throwsWith(t, () => decodeQ931(hex('09 02 00 01 05')), { code: 'VCP_ERR_H323_Q931' }, 'protocol discriminator');
  throwsWith(t, () => decodeQ931(hex('08 03 00 00 01 05')), { code: 'VCP_ERR_H323_Q931' }, 'call reference of 3 octets');
  throwsWith(t, () => decodeQ931(hex('08 02 00')), { code: 'VCP_ERR_H323_Q931' }, 'short');
  throwsWith(t, () => decodeQ931(hex('08 02 00 01 85')), { code: 'VCP_ERR_H323_Q931' }, 'message type with bit 8');
  throwsWith(t, () => encodeQ931({ callReference: 0x8000, callReferenceLength: 2, fromDestination: false, type: 5, ies: [] }), { code: 'VCP_ERR_H323_Q931' });
});

t.test('Q.931 information elements: variable, single-octet, the 2-octet User-user length', async (t) => {
  const b = hex('08 02 00 01 05  a1  04 03 88 90 a5  28 04 52 6f 6f 6d  7e 00 03 05 aa bb');
  const m = decodeQ931(b);
  t.same(
    m.ies.map((e) => [e.id, e.data.toString('hex')]),
    [
      [0xa1, ''],
      [0x04, '8890a5'],
      [0x28, '526f6f6d'],
      [0x7e, '05aabb'],
    ],
  );
  t.equal(findIe(m, Ie.Display)?.data.toString(), 'Room');
  t.equal(encodeQ931(m).toString('hex'), hex('08 02 00 01 05  04 03 88 90 a5  28 04 52 6f 6f 6d  7e 00 03 05 aa bb  a1').toString('hex'), 'written in ascending order');
  const big = Buffer.alloc(300, 1);
  setIe(m, Ie.UserUser, big);
  const again = decodeQ931(encodeQ931(m));
  t.equal(findIe(again, Ie.UserUser)?.data.length, 300, 'User-user longer than 255');
  setIe(m, Ie.Display, undefined);
  t.equal(findIe(m, Ie.Display), undefined);
  setIe(m, 0x99, hex('01'));
  t.equal(m.ies.at(-1)?.id, 0x99, 'setIe adds a missing IE');
  throwsWith(t, () => decodeQ931(hex('08 02 00 01 05 28 05 41')), { code: 'VCP_ERR_H323_Q931' }, 'IE runs past the end');
  throwsWith(t, () => decodeQ931(hex('08 02 00 01 05 7e 00')), { code: 'VCP_ERR_H323_Q931' }, 'User-user length cut');
  throwsWith(t, () => decodeQ931(hex('08 02 00 01 05 28')), { code: 'VCP_ERR_H323_Q931' }, 'length octet missing');
  throwsWith(t, () => encodeQ931({ ...m, ies: [{ id: 0x28, data: Buffer.alloc(256) }] }), { code: 'VCP_ERR_H323_Q931' });
});

t.test('unknown IEs are kept and re-emitted; a shift keeps the order as given', async (t) => {
  const b = hex('08 02 00 01 05 04 03 88 90 a5 3a 02 01 02 96 7f 01 00 70 02 80 31');
  const m = decodeQ931(b);
  t.equal(m.ies.length, 5);
  t.same(encodeQ931(m), b, 'with a locking shift (0x96) nothing moves');
  const c = hex('08 02 00 01 05 04 03 88 90 a5 3a 02 01 02 70 02 80 31');
  t.same(encodeQ931(decodeQ931(c)), c, 'an unknown IE 0x3a stays in place');
});

t.test('every call vector re-encodes to its own bytes at the Q.931 level', async (t) => {
  for (const b of msgs) t.same(encodeQ931(decodeQ931(b)), b);
});

t.test('IE contents: bearer, cause, progress, numbers, display', async (t) => {
  t.same(decodeBearer(hex('88 90 a5')), { coding: 0, capability: 8, transferMode: 0, rate: 0x10, layer1: 5 });
  t.same(decodeBearer(hex('88 98 86 a5')), { coding: 0, capability: 8, transferMode: 0, rate: 0x18, multiplier: 6, layer1: 5 });
  t.same(encodeBearer({ coding: 0, capability: 8, transferMode: 0, rate: 0x18, multiplier: 6, layer1: 5 }), hex('88 98 86 a5'));
  t.same(decodeBearer(hex('80 90 22 c0 c2')).layer1, 2, 'layer 1 octet with extension octets, then layer 2');
  t.same(decodeCause(hex('80 90')), { coding: 0, location: 0, value: 16, diagnostics: Buffer.alloc(0) });
  t.same(decodeCause(hex('02 81 91 aa')).value, 17, 'with octet 3a and diagnostics');
  t.same(encodeCause(16), hex('80 90'));
  t.same(decodeProgress(encodeProgress(8, 1)), { coding: 0, location: 1, description: 8 });
  t.same(decodePartyNumber(hex('81 38 30 30 31')), { typeOfNumber: 0, plan: 1, digits: '8001' });
  t.same(decodePartyNumber(hex('21 83 34 30 38')), { typeOfNumber: 2, plan: 1, presentation: 0, screening: 3, digits: '408' });
  t.same(encodePartyNumber({ typeOfNumber: 2, plan: 1, presentation: 0, screening: 3, digits: '408' }), hex('21 83 34 30 38'));
  t.equal(decodeDisplay(encodeDisplay('Salle Rouge – 2')), 'Salle Rouge – 2', 'UTF-8');
  t.equal(decodeDisplay(hex('c9 74 e9')), 'Été', 'not UTF-8: Latin-1');
  for (const f of [() => decodeBearer(hex('88')), () => decodeCause(hex('80')), () => decodeCause(hex('00 80')), () => decodeProgress(hex('80')), () => decodePartyNumber(hex('')), () => decodePartyNumber(hex('21'))]) {
    throwsWith(t, f, { code: 'VCP_ERR_H323_Q931' });
  }
});
