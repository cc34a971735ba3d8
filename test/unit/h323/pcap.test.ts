import t from 'tap';
import { ipOf, tcpOf, udpOf } from '../../../scripts/pcap/packet.js';
import { readCapture, readPcap, readPcapng } from '../../../scripts/pcap/reader.js';
import { TcpDirection } from '../../../scripts/pcap/tcp-stream.js';
import { throwsWith } from '../../helpers/assert.js';
import { hex } from '../../helpers/bits.js';

/** The capture reader behind h323-decode: file formats, link layers, IP versions, TCP order. */

/** IPv4 header, don't-fragment set, UDP, 10.0.0.1 → 10.0.0.2 (total length patched per test). */
const ipv4 = '45000020 0000 4000 4011 0000 0a000001 0a000002';

t.test('link layers and IP versions', async (t) => {
  const udp = hex('06a706a7 000c 0000 abcdef00');
  const v4 = Buffer.concat([hex(ipv4), udp]);
  v4.writeUInt16BE(v4.length, 2);
  const eth = Buffer.concat([hex('000000000000 000000000000 8100 0064 0800'), v4]);
  const p = ipOf(1, eth)!;
  t.match(p, { src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, fragment: false }, 'Ethernet with a VLAN tag');
  t.match(udpOf(p.payload), { srcPort: 1703, dstPort: 1703, payload: hex('abcdef00') });
  t.equal(ipOf(276, Buffer.concat([hex('0800 0000 00000001 0001 01 06 000000000000 0000'), v4]))?.src, '10.0.0.1', 'Linux cooked v2');
  t.equal(ipOf(228, v4)?.dst, '10.0.0.2', 'raw IPv4 link type');
  const frag = Buffer.from(v4);
  frag.writeUInt16BE(0x2000, 6);
  t.equal(ipOf(101, frag)?.fragment, true, 'more fragments');
  const v6 = Buffer.concat([hex('60000000 000c 11 40'), hex('20010db8000000000000000000000001'), hex('20010db8000000000000000000000002'), udp]);
  t.match(ipOf(101, v6), { src: '[2001:db8:0:0:0:0:0:1]', dst: '[2001:db8:0:0:0:0:0:2]', protocol: 17 });
  t.equal(ipOf(1, Buffer.concat([hex('000000000000 000000000000 86dd'), v6]))?.protocol, 17, 'IPv6 over Ethernet');
  t.equal(ipOf(1, Buffer.concat([hex('000000000000 000000000000 0806'), v4])), undefined, 'ARP is not IP');
  t.equal(ipOf(147, v4), undefined, 'unknown link type');
  t.equal(ipOf(101, hex('45')), undefined, 'short IPv4');
  t.equal(ipOf(101, hex('60')), undefined, 'short IPv6');
  t.equal(ipOf(101, hex('')), undefined);
  t.equal(ipOf(113, hex('00')), undefined);
  t.equal(tcpOf(hex('0000')), undefined);
  t.equal(tcpOf(Buffer.alloc(20)), undefined, 'data offset below 5 words');
  t.equal(udpOf(hex('00')), undefined);
});

t.test('pcap: byte orders, nanoseconds, bad files', async (t) => {
  const rec = (be: boolean, nano: boolean): Buffer => {
    const h = Buffer.alloc(24 + 16 + 4);
    const w = (v: number, o: number): number => (be ? h.writeUInt32BE(v, o) : h.writeUInt32LE(v, o));
    w(nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
    w(101, 20);
    w(10, 24);
    w(nano ? 500000000 : 500000, 28);
    w(4, 32);
    w(4, 36);
    h.write('abcd', 40);
    return h;
  };
  for (const [be, nano] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    const [r] = [...readCapture(rec(be, nano))];
    t.match(r, { frame: 1, time: 10.5, linkType: 101, data: Buffer.from('abcd') }, `big-endian ${be}, nanoseconds ${nano}`);
  }
  throwsWith(t, () => [...readPcap(Buffer.alloc(10))], { code: 'VCP_ERR_PCAP_FORMAT' });
  throwsWith(t, () => [...readPcap(Buffer.alloc(30))], { code: 'VCP_ERR_PCAP_FORMAT' }, 'bad magic');
  throwsWith(t, () => [...readPcap(rec(false, false).subarray(0, 30))], { code: 'VCP_ERR_PCAP_FORMAT' }, 'record header cut');
});

t.test('pcapng: sections, interfaces with tsresol, EPB, SPB, bad blocks', async (t) => {
  const block = (type: number, body: Buffer): Buffer => {
    const len = 12 + body.length;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(len, 4);
    body.copy(b, 8);
    b.writeUInt32LE(len, len - 4);
    return b;
  };
  const shb = block(0x0a0d0d0a, hex('4d3c2b1a 0100 0000 ffffffffffffffff'));
  const idb = (link: number, tsresol?: number): Buffer => {
    const opts = tsresol === undefined ? hex('') : Buffer.concat([hex('0900 0100'), Buffer.from([tsresol, 0, 0, 0]), hex('0000 0000')]);
    const b = Buffer.alloc(8);
    b.writeUInt16LE(link, 0);
    b.writeUInt32LE(65535, 4);
    return block(1, Buffer.concat([b, opts]));
  };
  const epb = (iface: number, ts: number, data: Buffer): Buffer => {
    const b = Buffer.alloc(20);
    b.writeUInt32LE(iface, 0);
    b.writeUInt32LE(Math.floor(ts / 2 ** 32), 4);
    b.writeUInt32LE(ts % 2 ** 32, 8);
    b.writeUInt32LE(data.length, 12);
    b.writeUInt32LE(data.length, 16);
    return block(6, Buffer.concat([b, data, Buffer.alloc((4 - (data.length % 4)) % 4)]));
  };
  const spb = (data: Buffer): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(data.length, 0);
    return block(3, Buffer.concat([b, data]));
  };
  const file = Buffer.concat([shb, idb(1), idb(101, 9), epb(0, 1_500_000, hex('aa')), epb(1, 2_000_000_000, hex('bbcc')), spb(hex('dddddddd')), block(5, hex('00000000'))]);
  const recs = [...readPcapng(file)];
  t.same(recs.map((r) => [r.frame, r.linkType, r.data.toString('hex')]), [
    [1, 1, 'aa'],
    [2, 101, 'bbcc'],
    [3, 1, 'dddddddd'],
  ]);
  t.equal(recs[0]!.time, 1.5, 'microseconds by default');
  t.equal(recs[1]!.time, 2, 'if_tsresol 9: nanoseconds');
  t.same([...readCapture(file)].length, 3, 'told apart by the magic number');
  throwsWith(t, () => [...readPcapng(Buffer.concat([shb, epb(3, 0, hex('aa'))]))], { code: 'VCP_ERR_PCAP_FORMAT' }, 'an undescribed interface');
  throwsWith(t, () => [...readPcapng(Buffer.concat([shb, spb(hex('aa'))]))], { code: 'VCP_ERR_PCAP_FORMAT' }, 'SPB before any interface');
  throwsWith(t, () => [...readPcapng(shb.subarray(0, 20))], { code: 'VCP_ERR_PCAP_FORMAT' }, 'block cut short');
  const badBom = Buffer.from(shb);
  badBom.writeUInt32LE(0x12345678, 8);
  throwsWith(t, () => [...readPcapng(badBom)], { code: 'VCP_ERR_PCAP_FORMAT' }, 'byte-order magic');
  throwsWith(t, () => [...readPcapng(Buffer.concat([shb, hex('0100000005000000')]))], { code: 'VCP_ERR_PCAP_FORMAT' }, 'cut header');
});

t.test('TCP direction: order, overlap, and a gap that never fills', async (t) => {
  const seg = (seq: number, s: string, syn = false) => ({ srcPort: 1, dstPort: 2, seq, syn, fin: false, rst: false, payload: Buffer.from(s) });
  const d = new TcpDirection();
  t.same(d.push(seg(99, '', true)).data, []);
  t.same(d.push(seg(103, 'def')).data, [], 'early segment waits');
  t.same(d.push(seg(100, 'abc')).data.map(String), ['abc', 'def'], 'the gap fills');
  t.same(d.push(seg(104, 'efgh')).data.map(String), ['gh'], 'overlap trimmed');
  t.same(d.push(seg(100, 'abc')).data, [], 'old retransmission dropped');
  const big = new TcpDirection();
  big.push(seg(1, 'a'));
  const chunk = 'x'.repeat(600_000);
  t.same(big.push(seg(100, chunk)).gap, false);
  const r = big.push(seg(1_000_000, chunk));
  t.equal(r.gap, true, 'more than 1 MB waiting: the gap is skipped');
  t.equal(r.data[0]!.length, 600_000);
});
