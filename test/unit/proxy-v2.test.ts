import t from 'tap';
import fc from 'fast-check';
import { decodeProxyV2, encodeProxyV2, ProxyV2Error, PROXY_V2_SIGNATURE } from '../../shared/proxy-v2.js';
import { throwsWith } from '../helpers/assert.js';

/**
 * Fixture builder, independent of the production encoder: the header laid out byte by byte as in
 * HAProxy's proxy-protocol.txt section 2.2 (signature, ver_cmd, fam, len, addresses, TLVs).
 */
function header(o: { verCmd?: number; fam?: number; addr?: number[]; tlvs?: number[]; len?: number }): Buffer {
  const body = [...(o.addr ?? []), ...(o.tlvs ?? [])];
  const len = o.len ?? body.length;
  return Buffer.from([...PROXY_V2_SIGNATURE, o.verCmd ?? 0x21, o.fam ?? 0x11, len >> 8, len & 255, ...body]);
}
const v4 = (a: string): number[] => a.split('.').map(Number);
const be16 = (n: number): number[] => [n >> 8, n & 255];
/** Plain IPv6 text → 16 bytes (test side; handles `::` and a dotted IPv4 tail). */
function v6(a: string): number[] {
  let tail: number[] = [];
  let s = a;
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (m) {
    tail = v4(m[2]!);
    s = m[1]!.endsWith('::') ? m[1]! : m[1]!.slice(0, -1);
  }
  const groupsWanted = 8 - tail.length / 2;
  const [l, r] = s.includes('::') ? s.split('::') : [s, undefined];
  const left = l ? l.split(':').map((x) => parseInt(x, 16)) : [];
  const right = r ? r.split(':').map((x) => parseInt(x, 16)) : [];
  const groups = r === undefined ? left : [...left, ...Array<number>(groupsWanted - left.length - right.length).fill(0), ...right];
  return [...groups.flatMap(be16), ...tail];
}

t.test('IPv4 TCP and UDP: encoder output matches the spec layout and decodes back', async (t) => {
  for (const [transport, fam] of [['tcp', 0x11], ['udp', 0x12]] as const) {
    const enc = encodeProxyV2({ transport, srcAddress: '192.0.2.10', srcPort: 5062, dstAddress: '198.51.100.1', dstPort: 5060 });
    t.same(enc, header({ fam, addr: [...v4('192.0.2.10'), ...v4('198.51.100.1'), ...be16(5062), ...be16(5060)] }), `${transport}: byte layout`);
    const r = decodeProxyV2(enc);
    t.same(r, { status: 'ok', headerLength: 28, info: { command: 'proxy', transport, srcAddress: '192.0.2.10', srcPort: 5062, dstAddress: '198.51.100.1', dstPort: 5060 } });
  }
  const edges = decodeProxyV2(encodeProxyV2({ transport: 'udp', srcAddress: '0.0.0.0', srcPort: 0, dstAddress: '255.255.255.255', dstPort: 65535 }));
  t.match(edges, { status: 'ok', info: { srcAddress: '0.0.0.0', srcPort: 0, dstAddress: '255.255.255.255', dstPort: 65535 } });
});

t.test('IPv6, and IPv4 mixed with IPv6 (mapped)', async (t) => {
  const cases: Array<[string, string]> = [
    ['2001:db8::1', '2001:db8::1'],
    ['::1', '::1'],
    ['::', '::'],
    ['fe80::1:2:3:4', 'fe80::1:2:3:4'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:DB8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['::ffff:192.0.2.7', '::ffff:192.0.2.7'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ];
  for (const [given, canonical] of cases) {
    const enc = encodeProxyV2({ transport: 'tcp', srcAddress: given, srcPort: 1, dstAddress: '2001:db8::5060', dstPort: 5060 });
    t.same(enc, header({ fam: 0x21, addr: [...v6(given), ...v6('2001:db8::5060'), ...be16(1), ...be16(5060)] }), `${given}: byte layout`);
    t.match(decodeProxyV2(enc), { status: 'ok', headerLength: 52, info: { transport: 'tcp', srcAddress: canonical, dstAddress: '2001:db8::5060' } }, `${given} → ${canonical}`);
  }
  const mixed = decodeProxyV2(encodeProxyV2({ transport: 'udp', srcAddress: '2001:db8::9', srcPort: 7, dstAddress: '192.0.2.1', dstPort: 5060 }));
  t.match(mixed, { status: 'ok', info: { transport: 'udp', srcAddress: '2001:db8::9', dstAddress: '::ffff:192.0.2.1' } }, 'an IPv4 address beside an IPv6 one is sent IPv4-mapped');
});

t.test('TLVs after the addresses are returned as a view; the payload after the header is untouched', async (t) => {
  const tlvs = [0x04, 0x00, 0x03, 0xaa, 0xbb, 0xcc, 0x01, 0x00, 0x02, 0x68, 0x32];
  const addr = [...v4('192.0.2.1'), ...v4('192.0.2.2'), ...be16(1000), ...be16(2000)];
  const buf = Buffer.concat([header({ fam: 0x11, addr, tlvs }), Buffer.from('INVITE sip:x SIP/2.0\r\n')]);
  const r = decodeProxyV2(buf);
  if (r.status !== 'ok') throw new Error('expected ok');
  t.equal(r.headerLength, 16 + 12 + tlvs.length);
  t.same([...r.info.tlvs!], tlvs);
  t.equal(r.info.tlvs!.buffer, buf.buffer, 'a view into the input, not a copy');
  t.equal(buf.subarray(r.headerLength).toString(), 'INVITE sip:x SIP/2.0\r\n');
  const r6 = decodeProxyV2(header({ fam: 0x22, addr: [...v6('::1'), ...v6('::2'), ...be16(1), ...be16(2)], tlvs: [0xee, 0, 0] }));
  t.match(r6, { status: 'ok', headerLength: 55, info: { transport: 'udp', srcAddress: '::1' } });
  t.same([...(r6 as { info: { tlvs: Buffer } }).info.tlvs], [0xee, 0, 0]);
  t.equal((decodeProxyV2(header({ fam: 0x11, addr })) as { info: { tlvs?: Buffer } }).info.tlvs, undefined, 'no TLVs: no field');
});

t.test('LOCAL command: no addresses, whatever the family says; its length is skipped', async (t) => {
  t.same(decodeProxyV2(header({ verCmd: 0x20, fam: 0x00 })), {
    status: 'ok', headerLength: 16, info: { command: 'local', transport: 'unspec', srcAddress: '', srcPort: 0, dstAddress: '', dstPort: 0 },
  });
  const withBody = decodeProxyV2(header({ verCmd: 0x20, fam: 0x11, addr: [...v4('10.0.0.1'), ...v4('10.0.0.2'), 0, 1, 0, 2] }));
  t.match(withBody, { status: 'ok', headerLength: 28, info: { command: 'local' } });
});

t.test('incomplete at every cut, absent for other protocols', async (t) => {
  const full = encodeProxyV2({ transport: 'tcp', srcAddress: '2001:db8::1', srcPort: 1, dstAddress: '2001:db8::2', dstPort: 2 });
  for (let n = 0; n < full.length; n++) t.same(decodeProxyV2(full.subarray(0, n)), { status: 'incomplete' }, `first ${n} bytes`);
  t.equal(decodeProxyV2(full).status, 'ok');
  t.same(decodeProxyV2(Buffer.from('INVITE sip:bob@example.com SIP/2.0\r\n')), { status: 'absent' });
  t.same(decodeProxyV2(Buffer.from('PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n')), { status: 'absent' }, 'the text version 1 is not ours');
  t.same(decodeProxyV2(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0b, 0x21])), { status: 'absent' }, 'last signature byte wrong');
  t.same(decodeProxyV2(Buffer.from([0x0d, 0x0a])), { status: 'incomplete' }, 'a signature prefix may still become one');
});

t.test('garbage after the signature is a typed error', async (t) => {
  const addr = [...v4('192.0.2.1'), ...v4('192.0.2.2'), 0, 1, 0, 2];
  const code = { code: 'VCP_ERR_PROXY_V2' };
  throwsWith(t, () => decodeProxyV2(header({ verCmd: 0x11, addr })), { ...code, message: /version 1/ });
  throwsWith(t, () => decodeProxyV2(header({ verCmd: 0x31, addr })), { ...code, message: /version 3/ });
  throwsWith(t, () => decodeProxyV2(header({ verCmd: 0x22, addr })), { ...code, message: /command 2/ });
  throwsWith(t, () => decodeProxyV2(header({ fam: 0x31, addr })), { ...code, message: /address family 3/ }, 'AF_UNIX is not served');
  throwsWith(t, () => decodeProxyV2(header({ fam: 0x01, addr })), { ...code, message: /address family 0/ }, 'AF_UNSPEC with PROXY');
  throwsWith(t, () => decodeProxyV2(header({ fam: 0x10, addr })), { ...code, message: /transport 0/ });
  throwsWith(t, () => decodeProxyV2(header({ fam: 0x11, addr: [1, 2, 3, 4] })), { ...code, message: /too short for IPv4/ });
  throwsWith(t, () => decodeProxyV2(header({ fam: 0x21, addr })), { ...code, message: /too short for IPv6/ });
  try {
    decodeProxyV2(header({ verCmd: 0x11, addr }));
  } catch (err) {
    t.type(err, ProxyV2Error);
  }
});

const v4Arb = fc.ipV4();
const v6Arb = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
const groupsOf = (a: string): number[] => {
  const b = v6(a.includes(':') ? a : `::ffff:${a}`);
  return Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
};

t.test('property: any address pair and ports survive the round trip', async (t) => {
  fc.assert(
    fc.property(fc.oneof(v4Arb, v6Arb, fc.ipV6()), fc.oneof(v4Arb, v6Arb, fc.ipV6()), fc.nat(65535), fc.nat(65535), fc.constantFrom('tcp' as const, 'udp' as const), (src, dst, sp, dp, transport) => {
      const enc = encodeProxyV2({ transport, srcAddress: src, srcPort: sp, dstAddress: dst, dstPort: dp });
      const r = decodeProxyV2(Buffer.concat([enc, Buffer.from('payload')]));
      if (r.status !== 'ok') return false;
      const i = r.info;
      if (i.transport !== transport || i.srcPort !== sp || i.dstPort !== dp || r.headerLength !== enc.length) return false;
      const bothV4 = !src.includes(':') && !dst.includes(':');
      if (bothV4) return i.srcAddress === src && i.dstAddress === dst;
      return groupsOf(i.srcAddress).join() === groupsOf(src).join() && groupsOf(i.dstAddress).join() === groupsOf(dst).join();
    }),
    { numRuns: 3000 },
  );
  t.pass('3000 round trips');
});

t.test('property: arbitrary bytes after the signature never escape as anything but ProxyV2Error', async (t) => {
  let ok = 0;
  let typed = 0;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (tail) => {
      const buf = Buffer.concat([PROXY_V2_SIGNATURE, tail]);
      try {
        const r = decodeProxyV2(buf);
        if (r.status === 'ok') {
          ok++;
          return r.headerLength <= buf.length && r.headerLength >= 16;
        }
        return r.status === 'incomplete';
      } catch (err) {
        typed++;
        return err instanceof ProxyV2Error && (err as ProxyV2Error).code === 'VCP_ERR_PROXY_V2';
      }
    }),
    { numRuns: 5000 },
  );
  t.ok(typed > 0, `typed errors seen (${typed}), headers accepted (${ok})`);
  // Valid headers with random ports and TLV bytes decode whatever the TLV contents are.
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.uint8Array({ maxLength: 40 }), (addr, tlvs) => {
      const r = decodeProxyV2(header({ fam: 0x12, addr: [...addr], tlvs: [...tlvs] }));
      return r.status === 'ok' && r.headerLength === 28 + tlvs.length && (tlvs.length === 0 ? r.info.tlvs === undefined : r.info.tlvs!.length === tlvs.length);
    }),
  );
});
