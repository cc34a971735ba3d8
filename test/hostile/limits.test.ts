import t from 'tap';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import { FakeMember } from '../helpers/l1-member.js';
import { httpGet, node, tempDir, waitFor, writeFile } from '../helpers/procs.js';
import { metric, startStack } from '../helpers/stack.js';

// One source may not take a table meant for everyone: per-source caps of layer 1 (UDP flows, TCP
// connections), of the SIP TCP port and of the DNS TCP port, and a peer that never reads is cut
// off. Attackers are 127.0.43.66 and .67, an exempt load tester 127.0.43.70.
const WK = '127.0.43.1';
const MEMBER = '127.0.43.2';
const CONN = '127.0.43.3';

async function udpFrom(address: string): Promise<{ s: UdpSocket; got: Buffer[] }> {
  const s = createSocket('udp4');
  const got: Buffer[] = [];
  s.on('message', (b) => got.push(b));
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  t.teardown(() => s.close());
  return { s, got };
}

function tcpFrom(address: string, host: string, port: number): Promise<{ sock: Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port, localAddress: address });
    const closed = new Promise<string>((r) => {
      let why = 'closed';
      sock.on('error', (e: NodeJS.ErrnoException) => (why = e.code ?? e.message));
      sock.once('close', () => r(why));
    });
    sock.once('connect', () => resolve({ sock, closed }));
    sock.once('error', reject);
    t.teardown(() => sock.destroy());
  });
}

t.test('layer 1: UDP flows and TCP connections are bounded per source address', async (t) => {
  const member = await new FakeMember(MEMBER, 15060, 18080).start();
  t.teardown(() => member.stop());
  const dir = tempDir('limits-l1');
  const p = node('layer1/main.js', ['--config', writeFile(dir, 'l1.yaml', `
pop: t
wellKnown: { address: ${WK}, sip: 5060 }
pops: [ { name: t } ]
layer1:
  health: { intervalMs: 100, timeoutMs: 200, fall: 2, rise: 1 }
  metrics: { address: ${WK}, port: 9100 }
  control: { address: ${WK}, port: 9101 }
  udp: { maxFlowsPerSource: 5 }
  tcp: { maxConnectionsPerSource: 3 }
connectors:
  - { name: c, pop: t, address: ${MEMBER}, workers: 1, ports: { sipProxied: 15060, sip: 25060, health: 18080 } }
servers:
  - { name: s, pop: t, address: 127.0.43.30, sipPort: 5060 }
limits: { exempt: [127.0.43.70/32] }
`)]);
  t.teardown(() => p.stop());
  const metrics = async (): Promise<string> => (await httpGet(`http://${WK}:9100/metrics`)).body;
  await waitFor('the member up', async () => /vcp_l1_member_up\{[^}]*\} 1/.test(await metrics()));

  // Eight ports of one address: five flows, three datagrams dropped.
  const socks = await Promise.all(Array.from({ length: 8 }, () => udpFrom('127.0.43.66')));
  for (const [i, u] of socks.entries()) u.s.send(Buffer.from(`hello ${i}`), 5060, WK);
  await waitFor('three dropped', async () => metric(await metrics(), 'vcp_l1_udp_source_full_drops_total') === 3);
  await waitFor('five echoed', () => socks.filter((u) => u.got.length === 1).length === 5);
  const other = await udpFrom('127.0.43.67');
  other.s.send(Buffer.from('another source'), 5060, WK);
  await waitFor('another source gets its flow', () => other.got.length === 1);
  const tester = await Promise.all(Array.from({ length: 8 }, () => udpFrom('127.0.43.70')));
  for (const u of tester) u.s.send(Buffer.from('load'), 5060, WK);
  await waitFor('the exempt load tester gets all eight', () => tester.every((u) => u.got.length === 1));
  t.equal(metric(await metrics(), 'vcp_l1_udp_source_full_drops_total'), 3, 'and nothing more was dropped');

  // Three connections of one address; the fourth is reset.
  const conns = await Promise.all(Array.from({ length: 3 }, () => tcpFrom('127.0.43.66', WK, 5060)));
  // The reset may come before the connect completes on this side (a busy machine): the same answer.
  const fourth = await tcpFrom('127.0.43.66', WK, 5060).catch((err: NodeJS.ErrnoException) => ({ closed: Promise.resolve(err.code ?? String(err)) }));
  t.equal(await fourth.closed, 'ECONNRESET', 'the fourth is reset');
  t.equal(metric(await metrics(), 'vcp_l1_tcp_source_refused_total'), 1);
  const otherConn = await tcpFrom('127.0.43.67', WK, 5060);
  await waitFor('the member sees the other source', () => member.tcp.some((a) => a.header.srcAddress === '127.0.43.67'));
  otherConn.sock.destroy();
  conns[0]!.sock.destroy();
  await conns[0]!.closed;
  await waitFor('a slot of the source is free again', async () => {
    const again = await tcpFrom('127.0.43.66', WK, 5060);
    const r = await Promise.race([again.closed, new Promise<string>((res) => setTimeout(() => res('open'), 300))]);
    return r === 'open';
  });
});

t.test('layer 2: SIP and DNS TCP connections per source; a peer that does not read is cut off', async (t) => {
  const stack = await startStack(`
pop: t
wellKnown: { address: ${WK}, sip: 5060 }
pops: [ { name: t } ]
connectors:
  - { name: c, pop: t, address: ${CONN}, workers: 1, ports: { sip: 25060, health: 18080 } }
servers:
  - { name: s, pop: t, address: 127.0.43.30, sipPort: 5060, probe: none }
sip: { maxConnectionsPerSource: 3 }
dns:
  port: 15353
  maxTcpConnectionsPerSource: 2
  zones: [ { name: vc.test, nameservers: [ns1.vc.test] } ]
  names: [ { name: ns1.vc.test, answers: [127.0.43.53] } ]
limits: { flood: { requestsPerSecond: 0 }, maxUnsentBytes: 65536 }
admin: { port: 9300 }
`, { layer1: false });
  t.teardown(() => stack.stop());
  const worker = (): Promise<string> => stack.workerMetrics('c/0');
  const host = async (): Promise<string> => (await httpGet(`http://${CONN}:9300/metrics`)).body;

  const sip = await Promise.all(Array.from({ length: 3 }, () => tcpFrom('127.0.43.66', CONN, 25060)));
  const fourth = await tcpFrom('127.0.43.66', CONN, 25060);
  await fourth.closed;
  t.pass('the fourth SIP connection of one source is closed');
  t.equal(metric(await worker(), 'vcp_sip_dropped_total', { reason: 'tcp_source_limit' }), 1);
  const other = await tcpFrom('127.0.43.67', CONN, 25060);
  t.notOk(other.sock.destroyed, 'another source connects');
  for (const c of sip) c.sock.destroy();

  await waitFor('the DNS responder', async () => (await httpGet(`http://${CONN}:9300/health`)).status === 200);
  const dns = await Promise.all(Array.from({ length: 2 }, () => tcpFrom('127.0.43.66', CONN, 15353)));
  const third = await tcpFrom('127.0.43.66', CONN, 15353);
  await third.closed;
  t.pass('the third DNS connection of one source is closed');
  t.equal(metric(await host(), 'vcp_dns_dropped_total', { reason: 'tcp_source_limit' }), 1);
  for (const c of dns) c.sock.destroy();

  // A SIP client that asks and asks and never reads what it is answered.
  const greedy = await tcpFrom('127.0.43.68', CONN, 25060);
  greedy.sock.pause();
  const opts = (n: number): string => [
    `OPTIONS sip:${CONN}:25060;transport=tcp SIP/2.0`, `Via: SIP/2.0/TCP 127.0.43.68:5060;branch=z9hG4bK-g${n}`, 'Max-Forwards: 70', `From: <sip:g@127.0.43.68>;tag=${n}`,
    `To: <sip:${CONN}>`, `Call-ID: greedy-${n}@test`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
  ].join('\r\n');
  let sent = 0;
  let closed = false;
  void greedy.closed.then(() => (closed = true));
  while (!closed && sent < 200_000) {
    const batch = Array.from({ length: 200 }, () => opts(++sent)).join('');
    if (!greedy.sock.write(batch)) await new Promise((r) => setTimeout(r, 5));
    else await new Promise((r) => setImmediate(r));
  }
  await waitFor('the SIP connection closed', () => closed);
  t.pass(`the connector closed the connection of the client that does not read (after ${sent} requests sent)`);
  await waitFor('counted', async () => metric(await worker(), 'vcp_sip_dropped_total', { reason: 'unread' }) === 1);
  t.equal((await httpGet(`http://${CONN}:18080/health`)).status, 200, 'the worker serves on');

  // The same with DNS: queries piped in, answers never read.
  const reader = await tcpFrom('127.0.43.69', CONN, 15353);
  reader.sock.pause();
  const q = dnsPacket.streamEncode({ type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'ns1.vc.test' }] });
  let dnsClosed = false;
  void reader.closed.then(() => (dnsClosed = true));
  let queries = 0;
  const batch = Buffer.concat(Array.from({ length: 500 }, () => q));
  while (!dnsClosed && queries < 2_000_000) {
    queries += 500;
    if (!reader.sock.write(batch)) await new Promise((r) => setTimeout(r, 5));
    else await new Promise((r) => setImmediate(r));
  }
  await waitFor('the DNS connection closed', () => dnsClosed);
  t.pass(`the DNS connection of the client that does not read was closed (after ${queries} queries sent)`);
  await waitFor('counted', async () => metric(await host(), 'vcp_dns_dropped_total', { reason: 'tcp_unread' }) === 1);
});
