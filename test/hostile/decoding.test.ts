import t from 'tap';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import { perDecode } from '../../layer2/h323/per/codec.js';
import { int, seq } from '../../layer2/h323/per/types.js';
import { PerError } from '../../layer2/h323/errors.js';
import { tpkt } from '../../layer2/h323/tpkt.js';
import { decodeQ931 } from '../../layer2/h323/q931.js';
import { buildSetup } from '../../layer2/h323/builder.js';
import { dialledDigits, h323Id } from '../../layer2/h323/h225.js';
import { encodeH323 } from '../../layer2/h323/message.js';
import { IDENTITIES } from '../helpers/h323-vectors.js';
import { httpGet, waitFor } from '../helpers/procs.js';
import { metric, startStack, type Stack } from '../helpers/stack.js';

// Inputs built to cost: integers of thousands of octets, messages cut into 1-octet segments, the
// largest datagram of each protocol. Each is refused or served, and the processes stay healthy.
// (Their timings are benchmark figures: npm run bench:hostile.) Addresses in 127.0.48.0/24.
const WK = '127.0.48.1';
const CONN = '127.0.48.2';

let stack: Stack;
t.before(async () => {
  stack = await startStack(`
pop: t
wellKnown: { address: ${WK}, sip: 5060, h323: 1720, ras: 1719 }
pops: [ { name: t } ]
layer1:
  health: { intervalMs: 100, timeoutMs: 500, fall: 3, rise: 1 }
  metrics: { address: ${WK}, port: 9100 }
  control: { address: ${WK}, port: 9101 }
connectors:
  - { name: c, pop: t, address: ${CONN}, workers: 1, ports: { sipProxied: 15060, sip: 25060, h323Proxied: 11720, h323: 21720, rasProxied: 11719, ras: 21719, health: 18080 } }
servers:
  - { name: m, pop: t, address: 127.0.48.30, sipPort: 5060, h323Port: 1720, probe: none }
dns:
  port: 15353
  tcpIdleMs: 600000
  zones: [ { name: vc.test, nameservers: [ns1.vc.test] } ]
  names: [ { name: ns1.vc.test, answers: [127.0.48.53] } ]
admin: { port: 9300 }
limits: { flood: { requestsPerSecond: 0 } }
# A message dribbled one octet per segment takes seconds on a loaded machine: the time a sender is
# given to finish one is not what these tests are about.
sip: { headerTimeoutMs: 600000 }
h323: { headerTimeoutMs: 600000 }
`);
});
t.teardown(() => stack?.stop());

const healthy = async (): Promise<boolean> =>
  (await httpGet(`http://${CONN}:18080/health`)).status === 200 && (await httpGet(`http://${WK}:9101/health`)).status === 200 && (await httpGet(`http://${CONN}:9300/health`)).status === 200;

t.test('PER: an integer of thousands of octets is refused from its length, not converted', async (t) => {
  const type = seq('Holder', { n: int() });
  for (const octets of [17, 1000, 16000]) {
    const body = Buffer.alloc(octets, 0x7f);
    // Unconstrained INTEGER: a length (2 octets for 128..16383, a 16K fragment count beyond), then the octets.
    const len = octets < 128 ? Buffer.from([octets]) : octets < 16384 ? Buffer.from([0x80 | (octets >> 8), octets & 0xff]) : Buffer.from([0xc1]);
    const bytes = Buffer.concat([len, body]);
    try {
      perDecode(type, bytes);
      t.fail(`${octets} octets decoded`);
    } catch (err) {
      t.ok(err instanceof PerError, `${octets} octets: a PER error`);
      t.equal((err as PerError).code, 'VCP_ERR_H323_PER_CONSTRAINT');
    }
  }
  t.equal((perDecode(type, Buffer.concat([Buffer.from([16]), Buffer.alloc(16, 1)])) as { n: unknown }).n, BigInt(`0x${'01'.repeat(16)}`), '16 octets still decode');
});

/** Write `bytes` one octet per segment (Nagle off, one write per turn of the loop). */
async function dribble(sock: Socket, bytes: Buffer): Promise<void> {
  for (let i = 0; i < bytes.length; i++) {
    if (sock.destroyed) return;
    sock.write(bytes.subarray(i, i + 1));
    await new Promise((r) => setImmediate(r));
  }
}

function open(host: string, port: number): Promise<{ sock: Socket; data: () => Buffer }> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port, noDelay: true });
    const chunks: Buffer[] = [];
    sock.on('data', (b) => chunks.push(b));
    sock.once('connect', () => resolve({ sock, data: () => Buffer.concat(chunks) }));
    sock.once('error', reject);
    t.teardown(() => sock.destroy());
  });
}

t.test('1-octet TCP segments: a 60 KB SIP message, an H.225 Setup and a DNS query are framed and answered', async (t) => {
  const body = 'v=0\r\n'.padEnd(60_000, 'a');
  const sip = Buffer.from([
    `OPTIONS sip:${CONN}:25060;transport=tcp SIP/2.0`, 'Via: SIP/2.0/TCP 127.0.48.60:5060;branch=z9hG4bK-drip', 'Max-Forwards: 70', 'From: <sip:d@127.0.48.60>;tag=1',
    `To: <sip:${CONN}>`, 'Call-ID: dribble@test', 'CSeq: 1 OPTIONS', 'Content-Type: application/sdp', `Content-Length: ${body.length}`, '', body,
  ].join('\r\n'));
  const s = await open(CONN, 25060);
  await dribble(s.sock, sip);
  await waitFor('the SIP answer', () => s.data().toString().startsWith('SIP/2.0 200 OK'), 60_000);
  t.pass(`${sip.length} octets in ${sip.length} segments: answered`);

  const h = await open(CONN, 21720);
  const setup = tpkt(encodeH323(buildSetup({ callReference: 5, identity: IDENTITIES.polycom, destinationAliases: [dialledDigits('8001')], calledNumber: '8001', sourceAliases: [h323Id('Room 5')] })));
  await dribble(h.sock, setup);
  await waitFor('the H.225 answer', () => h.data().length >= 4, 60_000);
  const answer = decodeQ931(h.data().subarray(4, (h.data()[2]! << 8) | h.data()[3]!));
  t.equal(answer.callReference, 5, `a Setup in ${setup.length} segments: answered on its call (message type ${answer.type})`);

  const d = await open(CONN, 15353);
  const q = dnsPacket.streamEncode({ type: 'query', id: 9, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'ns1.vc.test' }] });
  await dribble(d.sock, q);
  await waitFor('the DNS answer', () => d.data().length > 2, 60_000);
  t.same(dnsPacket.streamDecode(d.data()).answers?.map((a) => (a as { data?: unknown }).data), ['127.0.48.53'], `a query in ${q.length} segments: answered`);
  t.ok(await healthy(), 'every process healthy');
});

t.test('the largest datagram of each protocol, directly and through layer 1', async (t) => {
  const s = createSocket({ type: 'udp4', sendBufferSize: 1 << 20, recvBufferSize: 1 << 20 });
  const got: Buffer[] = [];
  s.on('message', (b) => got.push(b));
  await new Promise<void>((r) => s.bind(0, '127.0.48.60', () => r()));
  t.teardown(() => s.close());
  const MAX = 65_507;
  const sipBody = 'a'.repeat(MAX - 400);
  const sip = Buffer.from([
    `OPTIONS sip:${CONN} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.48.60:${s.address().port};branch=z9hG4bK-big`, 'Max-Forwards: 70', 'From: <sip:b@127.0.48.60>;tag=1',
    `To: <sip:${CONN}>`, 'Call-ID: big@test', 'CSeq: 1 OPTIONS', `Content-Length: ${sipBody.length}`, '', sipBody,
  ].join('\r\n'));
  t.ok(sip.length <= MAX, `SIP: ${sip.length} octets`);
  s.send(sip, 25060, CONN);
  await waitFor('the SIP answer', () => got.some((b) => b.toString().startsWith('SIP/2.0 200 OK')), 20_000);
  t.pass('a 64 KB SIP datagram is parsed and answered');

  const ras = Buffer.alloc(MAX, 0x20);
  s.send(ras, 21719, CONN);
  await waitFor('the RAS datagram dropped before decoding', async () => metric(await stack.workerMetrics('c/0'), 'vcp_h323_ras_dropped_total', { reason: 'too_large' }) === 1, 20_000);
  const dns = Buffer.alloc(MAX, 0x01);
  s.send(dns, 15353, CONN);
  await waitFor('the DNS datagram dropped or refused', async () => /vcp_dns_(dropped|queries)_total\{/.test((await httpGet(`http://${CONN}:9300/metrics`)).body), 20_000);

  // Through layer 1: a datagram too large to carry with its PROXY header is lost there, and nothing else.
  for (const port of [5060, 1719]) s.send(Buffer.alloc(MAX, 0x41), port, WK);
  const small = Buffer.from([
    `OPTIONS sip:${WK} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.48.60:${s.address().port};branch=z9hG4bK-after`, 'Max-Forwards: 70', 'From: <sip:b@127.0.48.60>;tag=2',
    `To: <sip:${WK}>`, 'Call-ID: after@test', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
  ].join('\r\n'));
  s.send(small, 5060, WK);
  await waitFor('layer 1 still relays', () => got.some((b) => b.toString().includes('after@test')), 20_000);
  t.ok(await healthy(), 'every process healthy');
});
