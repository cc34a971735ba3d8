import t from 'tap';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { encodeProxyV2 } from '../../shared/proxy-v2.js';
import { endpointType } from '../../layer2/h323/builder.js';
import { transportAddress } from '../../layer2/h323/h225.js';
import { buildGrq, decodeRas, encodeRas } from '../../layer2/h323/ras.js';
import { IDENTITIES } from '../helpers/h323-vectors.js';
import { waitFor } from '../helpers/procs.js';
import { metric, startStack, type Stack } from '../helpers/stack.js';

// PROXY v2 forged by someone who is not layer 1: a client that reaches a proxied port directly and
// claims to be any address it likes. Layer 1 is played by 127.0.42.9 (`layer1.addresses`); the
// attacker is 127.0.42.66. Both send the same bytes; only layer 1's are believed.
const WK = '127.0.42.1';
const CONN = '127.0.42.2';
const L1 = '127.0.42.9';
const EVIL = '127.0.42.66';

let stack: Stack;
t.before(async () => {
  stack = await startStack(`
pop: t
wellKnown: { address: ${WK}, sip: 5060, h323: 1720, ras: 1719 }
pops: [ { name: t } ]
layer1: { addresses: [${L1}/32] }
connectors:
  - { name: c, pop: t, address: ${CONN}, workers: 1, ports: { sipProxied: 15060, sip: 25060, h323Proxied: 11720, h323: 21720, rasProxied: 11719, ras: 21719, health: 18080 } }
servers:
  - { name: m, pop: t, address: 127.0.42.30, sipPort: 5060, h323Port: 1720, probe: none }
`, { layer1: false });
});
t.teardown(() => stack?.stop());

const metrics = (): Promise<string> => stack.workerMetrics('c/0');

async function udp(address: string): Promise<{ s: UdpSocket; got: Buffer[] }> {
  const s = createSocket('udp4');
  const got: Buffer[] = [];
  s.on('message', (b) => got.push(b));
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  t.teardown(() => s.close());
  return { s, got };
}

const options = (n: number, from: string): Buffer => Buffer.from([
  `OPTIONS sip:${WK} SIP/2.0`, `Via: SIP/2.0/UDP ${from}:5060;branch=z9hG4bK-px${n}`, 'Max-Forwards: 70', `From: <sip:x@${from}>;tag=${n}`,
  `To: <sip:${WK}>`, `Call-ID: px-${n}@test`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
].join('\r\n'));

const header = (transport: 'udp' | 'tcp', port: number): Buffer => encodeProxyV2({ transport, srcAddress: '198.51.100.7', srcPort: 40000, dstAddress: WK, dstPort: port });

t.test('SIP over UDP: a PROXY header from anyone but layer 1 is dropped and counted', async (t) => {
  const evil = await udp(EVIL);
  const l1 = await udp(L1);
  evil.s.send(Buffer.concat([header('udp', 5060), options(1, '198.51.100.7')]), 15060, CONN);
  evil.s.send(options(2, EVIL), 15060, CONN);
  await waitFor('both counted', async () => metric(await metrics(), 'vcp_sip_dropped_total', { reason: 'proxy_untrusted' }) === 2);
  l1.s.send(Buffer.concat([header('udp', 5060), options(3, '198.51.100.7')]), 15060, CONN);
  await waitFor('layer 1 answered', () => l1.got.length === 1);
  t.match(l1.got[0]!.toString(), /^SIP\/2\.0 200 OK/, 'layer 1\'s datagram is answered');
  t.equal(evil.got.length, 0, 'the forger got nothing');
});

function tcpOpen(from: string, port: number, first: Buffer): Promise<{ sock: Socket; data: Buffer[]; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: CONN, port, localAddress: from });
    const data: Buffer[] = [];
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('data', (b) => data.push(b));
    sock.on('error', () => undefined);
    sock.once('connect', () => {
      sock.write(first);
      resolve({ sock, data, closed });
    });
    sock.once('error', reject);
    t.teardown(() => sock.destroy());
  });
}

t.test('SIP and H.225 over TCP: a connection from anyone but layer 1 is closed at once', async (t) => {
  const sip = await tcpOpen(EVIL, 15060, Buffer.concat([header('tcp', 5060), options(4, '198.51.100.7')]));
  await sip.closed;
  t.equal(Buffer.concat(sip.data).length, 0, 'SIP: closed without a byte');
  const h225 = await tcpOpen(EVIL, 11720, header('tcp', 1720));
  await h225.closed;
  t.equal(Buffer.concat(h225.data).length, 0, 'H.225: closed without a byte');
  const m = await metrics();
  t.equal(metric(m, 'vcp_sip_dropped_total', { reason: 'proxy_untrusted' }), 3);
  t.equal(metric(m, 'vcp_h323_dropped_total', { reason: 'proxy_untrusted' }), 1);
  const ok = await tcpOpen(L1, 15060, Buffer.concat([header('tcp', 5060), options(5, '198.51.100.7')]));
  await waitFor('layer 1\'s connection answered', () => Buffer.concat(ok.data).toString().startsWith('SIP/2.0 200 OK'));
  t.pass('layer 1\'s connection is served');
});

t.test('RAS: a PROXY header from anyone but layer 1 is dropped and counted', async (t) => {
  const grq = encodeRas(buildGrq({ requestSeqNum: 7, rasAddress: transportAddress('198.51.100.7', 1719), endpointType: endpointType(IDENTITIES.polycom) }));
  const evil = await udp(EVIL);
  const l1 = await udp(L1);
  evil.s.send(Buffer.concat([header('udp', 1719), grq]), 11719, CONN);
  await waitFor('counted', async () => metric(await metrics(), 'vcp_h323_ras_dropped_total', { reason: 'proxy_untrusted' }) === 1);
  l1.s.send(Buffer.concat([header('udp', 1719), grq]), 11719, CONN);
  await waitFor('layer 1 answered', () => l1.got.length === 1);
  t.equal(decodeRas(l1.got[0]!).choice, 'gatekeeperConfirm');
  t.equal(evil.got.length, 0);
});
