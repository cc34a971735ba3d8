import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAlerting, buildCallProceeding, buildConnect, buildReleaseFor, buildSetup, buildFacilityForward } from '../../layer2/h323/builder.js';
import { encodeH323 } from '../../layer2/h323/message.js';
import { tpkt } from '../../layer2/h323/tpkt.js';
import { dialledDigits, guidToString, h323Id, newGuid, transportAddress } from '../../layer2/h323/h225.js';
import { dist, requireBuild, tempDir } from '../helpers/procs.js';
import { hexDump } from '../helpers/tshark.js';
import { pcap, type Packet } from '../helpers/pcap-writer.js';
import { vectors } from '../helpers/h323-fixtures.js';

requireBuild();

type Line = Record<string, unknown>;

function decode(args: string[]): { lines: Line[]; status: number | null } {
  const r = spawnSync(process.execPath, [dist('scripts/h323-decode.js'), ...args], { encoding: 'utf8' });
  return { lines: r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line), status: r.status };
}

const dir = tempDir('h323-decode');
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const guid = newGuid();
const setup = buildSetup({
  callReference: 321,
  callIdentifier: guid,
  identity: { t35CountryCode: 181, t35Extension: 0, manufacturerCode: 20560, productId: 'Polycom RealPresence Group 500', versionId: '6.2.2' },
  sourceAliases: [h323Id('Room 12')],
  destinationAliases: [dialledDigits('8001')],
  calledNumber: '8001',
});
const answer = { identity: { t35CountryCode: 180, t35Extension: 0, manufacturerCode: 49152, productId: 'MCU', versionId: '4.5' }, kind: 'mcu' as const };
const flow = [
  // text2pcap -D: 'I' frames go from the first address of -4/-T to the second, 'O' frames back.
  { dir: 'I', m: setup },
  { dir: 'O', m: buildCallProceeding(setup, answer) },
  { dir: 'O', m: buildAlerting(setup, answer) },
  { dir: 'O', m: buildConnect(setup, answer) },
  { dir: 'I', m: buildReleaseFor(setup) },
] as const;

t.test('text2pcap capture, both directions: one JSON line per message', async (t) => {
  const txt = join(dir, 'call.txt');
  writeFileSync(txt, hexDump([...flow.map((f) => ({ bytes: tpkt(encodeH323(f.m)), dir: f.dir })), { bytes: Buffer.from('03000004', 'hex'), dir: 'I' as const }]));
  for (const format of ['pcap', 'pcapng']) {
    const file = join(dir, `call.${format}`);
    execFileSync('text2pcap', ['-q', '-F', format, '-D', '-T', '40000,1720', '-4', '10.1.1.2,192.0.2.1', txt, file]);
    const { lines, status } = decode([file]);
    t.equal(status, 0, format);
    t.same(
      lines.map((l) => [l.frame, l.message ?? (l.keepalive ? 'keepalive' : l.error), l.src, l.dst]),
      [
        [1, 'Setup', '10.1.1.2:40000', '192.0.2.1:1720'],
        [2, 'CallProceeding', '192.0.2.1:1720', '10.1.1.2:40000'],
        [3, 'Alerting', '192.0.2.1:1720', '10.1.1.2:40000'],
        [4, 'Connect', '192.0.2.1:1720', '10.1.1.2:40000'],
        [5, 'ReleaseComplete', '10.1.1.2:40000', '192.0.2.1:1720'],
        [6, 'keepalive', '10.1.1.2:40000', '192.0.2.1:1720'],
      ],
      `${format}: frames, directions, message types`,
    );
    t.match(lines[0], {
      proto: 'h225',
      callReference: 321,
      fromDestination: false,
      callIdentifier: guidToString(guid),
      sourceAliases: [{ type: 'h323-ID', value: 'Room 12' }],
      destinationAliases: [{ type: 'dialledDigits', value: '8001' }],
      calledNumber: '8001',
      vendor: { country: 181, extension: 0, manufacturer: 20560, manufacturerName: 'Polycom', productId: 'Polycom RealPresence Group 500', versionId: '6.2.2' },
    });
    t.match(lines[3], { fromDestination: true, vendor: { manufacturerName: 'Codian' }, callIdentifier: guidToString(guid) });
  }
});

t.test('TCP reassembly: split headers, coalesced messages, retransmission, reordering; RAS; bad input', async (t) => {
  const a = tpkt(encodeH323(setup));
  const b = tpkt(encodeH323(buildFacilityForward(setup, transportAddress('192.0.2.7', 1720))));
  const c = tpkt(encodeH323(buildReleaseFor(setup)));
  const bad = tpkt(Buffer.from('08020001', 'hex'));
  const out = { src: '10.1.1.2', dst: '192.0.2.1', sport: 40001, dport: 1720, proto: 'tcp' as const };
  const back = { src: '192.0.2.1', dst: '10.1.1.2', sport: 1720, dport: 40001, proto: 'tcp' as const };
  const isn = 0xfffffff0; // sequence numbers wrap inside the stream
  const s0 = (isn + 1) >>> 0;
  const ras = vectors('ras.txt');
  const packets: Packet[] = [
    { ...out, seq: isn, syn: true, payload: Buffer.alloc(0) },
    { ...out, seq: s0, payload: a.subarray(0, 3) },
    { ...out, seq: s0, payload: a.subarray(0, 3) },
    { ...out, seq: (s0 + 3) >>> 0, payload: a.subarray(3) },
    { ...back, seq: 4999, syn: true, payload: Buffer.alloc(0) },
    { ...back, seq: 5000 + b.length, payload: c },
    { ...back, seq: 5000, payload: b },
    { ...out, seq: (s0 + a.length) >>> 0, payload: bad },
    { src: '10.1.1.2', dst: '192.0.2.1', sport: 1719, dport: 1719, proto: 'udp', payload: ras.get('rrq')! },
    { src: '192.0.2.1', dst: '10.1.1.2', sport: 1719, dport: 1719, proto: 'udp', payload: ras.get('rcf')!.subarray(0, 6) },
    { src: '10.1.1.2', dst: '192.0.2.1', sport: 5060, dport: 5060, proto: 'udp', payload: Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n') },
  ];
  for (const link of [113, 101, 0, 1] as const) {
    const file = join(dir, `re-${link}.pcap`);
    writeFileSync(file, pcap(packets, link));
    const { lines, status } = decode([file]);
    t.equal(status, 0);
    t.same(
      lines.map((l) => [l.frame, l.proto, l.error ?? l.ras ?? l.message]),
      [
        [4, 'h225', 'Setup'],
        [7, 'h225', 'Facility'],
        [7, 'h225', 'ReleaseComplete'],
        [8, 'h225', 'VCP_ERR_H323_Q931'],
        [9, 'ras', 'RRQ'],
        [10, 'ras', 'VCP_ERR_H323_PER_TRUNCATED'],
      ],
      `link type ${link}: each message once, in stream order; errors as lines`,
    );
    t.match(lines[1], { facilityReason: 'callForwarded', alternativeAddress: '192.0.2.7:1720', callIdentifier: guidToString(guid) });
    t.match(lines[4], { vendor: { manufacturerName: 'Polycom' }, aliases: [{ type: 'h323-ID', value: 'room-a' }, { type: 'dialledDigits' }] });
  }
  const other = join(dir, 'port.pcap');
  writeFileSync(other, pcap([{ ...out, dport: 11720, seq: 1, payload: a }], 113));
  t.same(decode([other]).lines, [], 'other ports are not looked at by default');
  t.equal(decode([other, '--tcp-port', '11720']).lines[0]?.message, 'Setup', '--tcp-port');
});

t.test('a TPKT stream that breaks: an error line, then framing starts again', async (t) => {
  const a = tpkt(encodeH323(setup));
  const out = { src: '10.1.1.2', dst: '192.0.2.1', sport: 40002, dport: 1720, proto: 'tcp' as const };
  const file = join(dir, 'broken.pcap');
  writeFileSync(file, pcap([{ ...out, seq: 1, payload: Buffer.from('16030100', 'hex') }, { ...out, seq: 5, payload: a }], 1));
  const { lines } = decode([file]);
  t.same(lines.map((l) => l.error ?? l.message), ['VCP_ERR_H323_TPKT', 'Setup']);
});

t.test('--hex and --ras, and files that are not captures', async (t) => {
  const one = decode(['--hex', tpkt(encodeH323(setup)).toString('hex')]);
  t.match(one.lines, [{ proto: 'h225', message: 'Setup', vendor: { manufacturerName: 'Polycom' } }]);
  t.match(decode(['--hex', encodeH323(setup).toString('hex')]).lines, [{ message: 'Setup' }], 'a bare Q.931 message');
  t.match(decode(['--hex', `${tpkt(encodeH323(setup)).toString('hex')}03000004`]).lines, [{ message: 'Setup' }, { keepalive: true }]);
  t.match(decode(['--hex', '0300000908020001']).lines, [{ error: 'VCP_ERR_H323_TPKT' }]);
  t.match(decode(['--hex', '0800']).lines, [{ error: 'VCP_ERR_H323_Q931' }]);
  t.match(decode(['--ras', vectors('ras.txt').get('gcf')!.toString('hex')]).lines, [{ ras: 'GCF', alternateGatekeepers: ['192.0.2.10:1719', '198.51.100.10:1719'] }]);
  const junk = join(dir, 'junk.pcap');
  writeFileSync(junk, 'not a capture');
  t.match(decode([junk]), { status: 1, lines: [{ error: 'VCP_ERR_PCAP_FORMAT' }] });
  t.match(decode([join(dir, 'missing.pcap')]), { status: 1, lines: [{ error: 'VCP_ERR_PCAP_FORMAT' }] });
  const cut = join(dir, 'cut.pcap');
  const whole = pcap([{ src: '1.1.1.1', dst: '2.2.2.2', sport: 1719, dport: 1719, proto: 'udp', payload: vectors('ras.txt').get('gcf')! }], 1);
  writeFileSync(cut, whole.subarray(0, whole.length - 5));
  t.match(decode([cut]), { status: 1, lines: [{ error: 'VCP_ERR_PCAP_FORMAT' }] });
  t.equal(decode(['--hex', 'xyz']).status, 2, 'usage error');
  t.equal(decode([]).status, 2);
});
