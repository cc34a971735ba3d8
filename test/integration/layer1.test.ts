import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { parseConfig } from '../../shared/config/load.js';
import { createLogger } from '../../shared/logger.js';
import { startLayer1, type Layer1 } from '../../layer1/service.js';
import { clientHash, memberSeed, rank } from '../../layer1/pick.js';
import { FakeMember } from '../helpers/l1-member.js';
import { node, requireBuild, start, tempDir, waitFor, writeFile } from '../helpers/procs.js';
import { metric } from '../helpers/stack.js';

// Every address of this file is in 127.0.2.0/24: layer 1 on .1, members on .2-.4, clients on .100.
const WK = '127.0.2.1';
const CLIENT = '127.0.2.100';
const PROXIED = 15060;
const HEALTH = 18080;
const CONTROL = `http://${WK}:9101`;
const METRICS = `http://${WK}:9100/metrics`;
const log = createLogger('test');
log.level = 'silent';

interface Opts {
  members?: number;
  udp?: string;
  tcp?: string;
  health?: string;
  extraPorts?: string;
  /** More top-level YAML. */
  extra?: string;
}

function yaml(o: Opts = {}): string {
  const conns = Array.from({ length: o.members ?? 2 }, (_, i) => `
  - { name: c${i + 1}, pop: t, address: 127.0.2.${2 + i}, workers: 1, ports: { sipProxied: ${PROXIED}, sip: 25060, health: ${HEALTH}${o.extraPorts ?? ''} } }`).join('');
  return `
pop: t
wellKnown: { address: ${WK}, sip: 5060, h323: 1720, ras: 1719 }
pops: [ { name: t } ]
layer1:
  health: ${o.health ?? '{ intervalMs: 50, timeoutMs: 200, fall: 2, rise: 1 }'}
  udp: ${o.udp ?? '{ idleTimeoutMs: 60000, maxFlows: 100 }'}
  tcp: ${o.tcp ?? '{ connectTimeoutMs: 1000, maxConnections: 100 }'}
  metrics: { address: ${WK}, port: 9100 }
  control: { address: ${WK}, port: 9101 }
connectors:${conns}
servers:
  - { name: b, pop: t, address: 127.0.2.50 }
${o.extra ?? ''}
`;
}

interface Rig {
  l1: Layer1;
  members: FakeMember[];
  byId: (id: string) => FakeMember;
}

async function rig(t: Test, o: Opts = {}): Promise<Rig> {
  const n = o.members ?? 2;
  const members = await Promise.all(Array.from({ length: n }, (_, i) => new FakeMember(`127.0.2.${2 + i}`, PROXIED, HEALTH).start()));
  t.teardown(() => Promise.all(members.map((m) => m.stop())));
  const l1 = await startLayer1(parseConfig(yaml(o), 'layer1-test.yaml'), log);
  t.teardown(() => l1.close());
  await waitFor('members up', () => l1.members.list.every((m) => m.up));
  return { l1, members, byId: (id) => members[Number(/^c(\d+)\//.exec(id)![1]) - 1]! };
}

/** A client port (fresh each call: no TIME_WAIT clash) whose hash order over `ids` starts with `first`. */
let nextPort = 21000;
function portFor(ids: string[], ...first: string[]): number {
  const cands = ids.map((id) => ({ id, seed: memberSeed(id) }));
  for (;;) {
    const p = nextPort++;
    const order = rank(cands, clientHash(CLIENT, p), () => true).map((c) => c.id);
    if (first.every((id, i) => order[i] === id)) return p;
  }
}
const IDS2 = ['c1/0', 'c2/0'];
const IDS3 = ['c1/0', 'c2/0', 'c3/0'];

function tcpClient(t: Test, localPort: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: WK, port: 5060, localAddress: CLIENT, localPort, allowHalfOpen: true });
    t.teardown(() => s.destroy());
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Everything the socket receives until the peer ends or closes it. */
function readAll(s: Socket): Promise<{ data: Buffer; ended: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let ended = false;
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => (ended = true));
    s.on('error', () => undefined);
    s.on('close', () => resolve({ data: Buffer.concat(chunks), ended }));
  });
}

/** Bytes the socket receives until `n` have come. */
function readN(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const on = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        s.off('data', on);
        resolve(Buffer.concat(chunks));
      }
    };
    s.on('data', on);
  });
}

async function udpClient(t: Test, port: number): Promise<UdpSocket & { replies: Array<{ text: string; address: string; port: number }> }> {
  const s = createSocket('udp4') as UdpSocket & { replies: Array<{ text: string; address: string; port: number }> };
  s.replies = [];
  s.on('message', (m, r) => s.replies.push({ text: m.toString(), address: r.address, port: r.port }));
  await new Promise<void>((r) => s.bind(port, CLIENT, () => r()));
  t.teardown(() => s.close());
  return s;
}
const sendUdp = (s: UdpSocket, text: string, port = 5060): void => s.send(Buffer.from(text), port, WK);

async function http(method: string, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${CONTROL}${path}`, { method });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
const scrape = async (): Promise<string> => (await fetch(METRICS)).text();

t.test('TCP: PROXY v2 header, bytes intact and in order both ways, half-close', async (t) => {
  const { members } = await rig(t);
  const port = portFor(IDS2, 'c2/0');
  const s = await tcpClient(t, port);
  const all = readAll(s);
  // Sent at once: these bytes wait in layer 1 while it connects to the member, and must come first.
  const early = Buffer.from('early bytes\r\n');
  const bulk = randomBytes(4 << 20);
  s.write(early);
  s.write(bulk);
  s.end();
  const { data, ended } = await all;
  const sent = Buffer.concat([early, bulk]);
  t.ok(ended, 'the member ended its side after ours, and the end came through');
  t.equal(data.length, sent.length + 3, 'every byte came back, then the farewell');
  t.ok(data.subarray(0, sent.length).equals(sent), 'the echo is byte for byte what was sent, in order');
  t.equal(data.subarray(sent.length).toString(), 'bye', 'the member could still write after our half-close');
  t.equal(members[0]!.tcp.length, 0, 'the other member saw nothing');
  const arrival = members[1]!.tcp[0]!;
  t.same(arrival.header, { command: 'proxy', transport: 'tcp', srcAddress: CLIENT, srcPort: port, dstAddress: WK, dstPort: 5060 }, 'the header names the client and the dialled address');
  t.ok(Buffer.concat(arrival.received).equals(sent), 'the member received exactly the client bytes after the header');
  t.ok(arrival.ended, 'the member saw our half-close');
  await waitFor('connection counted closed', async () => metric(await scrape(), 'vcp_l1_tcp_connections_active', { member: 'c2/0' }) === 0);
  const m = await scrape();
  t.equal(metric(m, 'vcp_l1_tcp_connections_total', { member: 'c2/0' }), 1);
  t.equal(metric(m, 'vcp_l1_bytes_in_total', { member: 'c2/0' }), sent.length);
  t.equal(metric(m, 'vcp_l1_bytes_out_total', { member: 'c2/0' }), sent.length + 3);
  t.equal(metric(m, 'vcp_l1_tcp_connections_total', { member: 'c1/0' }), 0);
});

t.test('TCP: a member that refuses is skipped for the next in hash order; none left closes the client', async (t) => {
  const { byId } = await rig(t, { members: 3 });
  await byId('c1/0').stopTcp();
  const port = portFor(IDS3, 'c1/0', 'c3/0');
  const s = await tcpClient(t, port);
  s.write('hello');
  t.equal((await readN(s, 5)).toString(), 'hello', 'relayed through the second member in hash order');
  t.equal(byId('c3/0').tcp.length, 1);
  t.equal(byId('c2/0').tcp.length, 0);
  t.equal(metric(await scrape(), 'vcp_l1_connect_errors_total', { member: 'c1/0' }), 1, 'the refusal counted against c1');
  s.end();

  await byId('c2/0').stopTcp();
  await byId('c3/0').stopTcp();
  const lost = await tcpClient(t, portFor(IDS3, 'c2/0'));
  lost.write('anyone?');
  const r = await readAll(lost);
  t.equal(r.data.length, 0, 'no member took it: closed without an answer');
  const m = await scrape();
  t.equal(metric(m, 'vcp_l1_tcp_no_member_total', { listener: 'sip/tcp' }), 1);
  t.equal(metric(m, 'vcp_l1_connect_errors_total'), 4, 'c1 twice, c2 and c3 once each');
});

t.test('TCP: a member that does not answer within connectTimeoutMs is skipped', async (t) => {
  // c1's port accepts nothing: a process listens with a backlog of 1 and then blocks its event loop,
  // so once the accept queue is full the kernel drops further SYNs and a connect hangs.
  const stuck = start(process.execPath, ['-e', `
    const srv = require('node:net').createServer();
    srv.listen({ port: ${PROXIED}, host: '127.0.2.2', backlog: 1 }, () => {
      console.log('listening');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    });`]);
  t.teardown(() => stuck.stop('SIGKILL'));
  await waitFor('stuck listener', () => stuck.output().includes('listening'));
  const fillers: Socket[] = [];
  t.teardown(() => fillers.forEach((f) => f.destroy()));
  for (let i = 0; i < 4; i++) fillers.push(connect({ host: '127.0.2.2', port: PROXIED, localAddress: CLIENT }).on('error', () => undefined));
  await new Promise((r) => setTimeout(r, 200));
  const c1 = new FakeMember('127.0.2.2', PROXIED, HEALTH);
  const c2 = await new FakeMember('127.0.2.3', PROXIED, HEALTH).start();
  await c1.startHealth();
  t.teardown(() => Promise.all([c1.stopHealth(), c2.stop()]));
  const l1 = await startLayer1(parseConfig(yaml({ tcp: '{ connectTimeoutMs: 300, maxConnections: 100 }' }), 'layer1-test.yaml'), log);
  t.teardown(() => l1.close());
  await waitFor('members up', () => l1.members.list.every((m) => m.up));
  const s = await tcpClient(t, portFor(IDS2, 'c1/0'));
  s.write('patience');
  t.equal((await readN(s, 8)).toString(), 'patience', 'relayed by the second member after the timeout');
  t.equal(c2.tcp.length, 1);
  t.equal(metric(await scrape(), 'vcp_l1_connect_errors_total', { member: 'c1/0' }), 1, 'the timeout counted against c1');
});

t.test('H.225 (TCP) and RAS (UDP) listeners relay to their own member ports', async (t) => {
  const { byId } = await rig(t, { extraPorts: ', h323Proxied: 11720, rasProxied: 11719' });
  const h323 = new FakeMember('127.0.2.2', 11720, 0);
  const ras = new FakeMember('127.0.2.2', 11719, 0);
  await Promise.all([h323.startTcp(), ras.startUdp()]);
  t.teardown(() => Promise.all([h323.stopTcp(), ras.stopUdp()]));
  const tpkt = Buffer.from([3, 0, 0, 8, 1, 2, 3, 4]);
  const s = await new Promise<Socket>((resolve, reject) => {
    const c = connect({ host: WK, port: 1720, localAddress: CLIENT, localPort: portFor(IDS2, 'c1/0') }, () => resolve(c));
    c.once('error', reject);
    t.teardown(() => c.destroy());
  });
  s.write(tpkt);
  t.ok((await readN(s, 8)).equals(tpkt), 'H.225 bytes relayed and echoed');
  t.match(h323.tcp[0]!.header, { transport: 'tcp', srcAddress: CLIENT, dstAddress: WK, dstPort: 1720 });
  const u = await udpClient(t, portFor(IDS2, 'c1/0'));
  sendUdp(u, 'GRQ', 1719);
  await waitFor('RAS reply', () => u.replies.length === 1);
  t.same(u.replies[0], { text: 'echo:GRQ', address: WK, port: 1719 }, 'the RAS answer comes from the well-known RAS port');
  t.match(ras.udp[0]!.header, { transport: 'udp', srcAddress: CLIENT, dstAddress: WK, dstPort: 1719 });
  t.equal(byId('c1/0').tcp.length + byId('c1/0').udp.length, 0, 'nothing went to the SIP port');
  const listeners = (await scrape()).match(/listener="[a-z0-9/]+"/g) ?? [];
  t.same([...new Set(listeners)].sort(), ['listener="h323/tcp"', 'listener="ras/udp"', 'listener="sip/tcp"', 'listener="sip/udp"']);
});

t.test('drain: existing connections and flows continue, new ones go to the next member; undrain', async (t) => {
  const { byId } = await rig(t);
  const first = await tcpClient(t, portFor(IDS2, 'c1/0'));
  first.write('one');
  t.equal((await readN(first, 3)).toString(), 'one');
  const u = await udpClient(t, portFor(IDS2, 'c1/0'));
  sendUdp(u, 'before');
  await waitFor('datagram at c1', () => byId('c1/0').udp.length === 1);

  const drained = await http('POST', '/members/c1%2F0/drain');
  t.equal(drained.status, 200);
  t.match(drained.body, { id: 'c1/0', draining: true, up: true, connections: 1, flows: 1 });
  first.write('two');
  t.equal((await readN(first, 3)).toString(), 'two', 'the open connection still works');
  sendUdp(u, 'after');
  await waitFor('datagram of the old flow at c1', () => byId('c1/0').udp.length === 2);
  t.equal(byId('c2/0').udp.length, 0, 'the open UDP flow stayed on the drained member');

  const second = await tcpClient(t, portFor(IDS2, 'c1/0'));
  second.write('new');
  t.equal((await readN(second, 3)).toString(), 'new');
  t.equal(byId('c2/0').tcp.length, 1, 'a new connection whose first choice is drained went to the next member');
  t.equal(byId('c1/0').tcp.length, 1);
  const u2 = await udpClient(t, portFor(IDS2, 'c1/0'));
  sendUdp(u2, 'fresh');
  await waitFor('new flow at c2', () => byId('c2/0').udp.length === 1);

  const list = (await http('GET', '/members')).body as Array<{ id: string; draining: boolean; up: boolean }>;
  t.same(list.map((m) => [m.id, m.up, m.draining]), [['c1/0', true, true], ['c2/0', true, false]]);
  t.equal(metric(await scrape(), 'vcp_l1_member_draining', { member: 'c1/0' }), 1);

  t.match((await http('POST', '/members/c1/0/undrain')).body, { id: 'c1/0', draining: false }, 'the id may also be written with its slash');
  const third = await tcpClient(t, portFor(IDS2, 'c1/0'));
  third.write('back');
  t.equal((await readN(third, 4)).toString(), 'back');
  t.equal(byId('c1/0').tcp.length, 2, 'after undrain c1 takes its clients again');

  const unknown = await http('POST', '/members/c9%2F0/drain');
  t.equal(unknown.status, 404);
  t.match(unknown.body, { error: { code: 'VCP_ERR_L1_UNKNOWN_MEMBER', message: /c9\/0.*c1\/0, c2\/0/ } });
  t.match(await http('GET', '/members/c1%2F0/drain'), { status: 405, body: { error: { code: 'VCP_ERR_L1_METHOD' } } });
  t.match(await http('POST', '/members'), { status: 405 });
  t.match(await http('POST', '/members/%E0%A4%A/drain'), { status: 400, body: { error: { code: 'VCP_ERR_L1_BAD_REQUEST' } } });
  t.match(await http('GET', '/nothing'), { status: 404, body: { error: { code: 'VCP_ERR_L1_NOT_FOUND' } } });
  t.match(await http('GET', '/health'), { status: 200, body: { status: 'ok', membersUp: 2, members: 2 } });
  t.equal((await fetch(`${CONTROL}/metrics`)).status, 404, 'metrics live on the metrics port only');
  t.equal((await fetch(`http://${WK}:9100/members`)).status, 404, 'and control on the control port only');
});

t.test('SIP over UDP: the calls of one client port spread over the members by Call-ID, every message of a call to one member', async (t) => {
  // A load tester (or a trunk) sends many calls at once from one port: exempt from the flood guard.
  const { byId } = await rig(t, { extra: `limits: { exempt: [${CLIENT}/32] }` });
  const port = nextPort++;
  const u = await udpClient(t, port);
  const sip = (method: string, callId: string, compact = false): string =>
    `${method} sip:room@${WK} SIP/2.0\r\nVia: SIP/2.0/UDP ${CLIENT}:${port};branch=z9hG4bK-${callId}-${method}\r\n${compact ? 'i' : 'Call-ID'}: ${callId}\r\nCSeq: 1 ${method}\r\nContent-Length: 0\r\n\r\n`;
  const calls = Array.from({ length: 32 }, (_, i) => `call-${i}@${CLIENT}`);
  for (const c of calls) sendUdp(u, sip('INVITE', c));
  await waitFor('32 INVITEs at the members', () => byId('c1/0').udp.length + byId('c2/0').udp.length === 32);
  const at = (m: string): Set<string> => new Set(byId(m).udp.map((a) => /^Call-ID: (.*)$|^i: (.*)$/m.exec(a.payload.toString())!.slice(1).find(Boolean)!.trim()));
  const c1 = at('c1/0');
  const c2 = at('c2/0');
  t.ok(c1.size > 0 && c2.size > 0, `both members took calls from the one client port (${c1.size} and ${c2.size})`);
  // The rest of each call, one header in its compact form: it must follow its INVITE.
  for (const c of calls) sendUdp(u, sip('ACK', c, true));
  for (const c of calls) sendUdp(u, sip('BYE', c));
  await waitFor('every message at the members', () => byId('c1/0').udp.length + byId('c2/0').udp.length === 96);
  t.same(at('c1/0'), c1, 'every ACK and BYE reached the member that had its INVITE (c1)');
  t.same(at('c2/0'), c2, '(c2)');
  for (const a of [...byId('c1/0').udp, ...byId('c2/0').udp]) t.same(a.header.srcPort, port, 'each with the client port in its header');
  t.ok(new Set(byId('c1/0').udp.map((a) => a.from.port)).size + new Set(byId('c2/0').udp.map((a) => a.from.port)).size > 2, 'through several flows');
  await waitFor('96 replies from the well-known address', () => u.replies.length === 96);
  t.ok(u.replies.every((r) => r.address === WK && r.port === 5060));
  // Datagrams without a Call-ID keep the flow of the client address and port (lane 0).
  const plain = portFor(IDS2, 'c2/0');
  const v = await udpClient(t, plain);
  for (let i = 0; i < 4; i++) sendUdp(v, `keepalive ${i}`);
  await waitFor('keepalives at c2', () => byId('c2/0').udp.filter((a) => a.header.srcPort === plain).length === 4);
});

t.test('SIP over UDP with layer1.udp.sipCallLanes 1: one flow per client port, as for other protocols', async (t) => {
  const { byId } = await rig(t, { udp: '{ idleTimeoutMs: 60000, maxFlows: 100, sipCallLanes: 1 }', extra: `limits: { exempt: [${CLIENT}/32] }` });
  const port = portFor(IDS2, 'c2/0');
  const u = await udpClient(t, port);
  for (let i = 0; i < 16; i++) sendUdp(u, `INVITE sip:room@${WK} SIP/2.0\r\nCall-ID: one-flow-${i}\r\nContent-Length: 0\r\n\r\n`);
  await waitFor('16 INVITEs at c2', () => byId('c2/0').udp.length === 16);
  t.equal(byId('c1/0').udp.length, 0, 'none at c1');
  t.equal(new Set(byId('c2/0').udp.map((a) => a.from.port)).size, 1, 'through one flow');
});

t.test('UDP: a PROXY v2 header on every datagram, replies from the well-known address', async (t) => {
  const { byId } = await rig(t);
  const port = portFor(IDS2, 'c1/0');
  const u = await udpClient(t, port);
  for (let i = 0; i < 5; i++) sendUdp(u, `datagram ${i}`);
  await waitFor('five replies', () => u.replies.length === 5);
  const got = byId('c1/0').udp;
  t.equal(got.length, 5);
  t.same(got.map((a) => a.payload.toString()).sort(), [0, 1, 2, 3, 4].map((i) => `datagram ${i}`), 'payloads intact, without the header');
  for (const a of got) t.same(a.header, { command: 'proxy', transport: 'udp', srcAddress: CLIENT, srcPort: port, dstAddress: WK, dstPort: 5060 });
  t.equal(new Set(got.map((a) => `${a.from.address}:${a.from.port}`)).size, 1, 'one flow socket carries the flow');
  t.not(got[0]!.from.port, 5060, 'and it is not the well-known socket');
  t.same(new Set(u.replies.map((r) => `${r.address}:${r.port}`)), new Set([`${WK}:5060`]), 'replies come from the well-known address and port');
  t.same(u.replies.map((r) => r.text).sort(), got.map((a) => `echo:${a.payload}`).sort());

  const other = await udpClient(t, portFor(IDS2, 'c2/0'));
  sendUdp(other, 'x');
  await waitFor('reply to the other client', () => other.replies.length === 1);
  t.equal(byId('c2/0').udp.length, 1, 'another client, another member by its hash');
  const m = await scrape();
  t.equal(metric(m, 'vcp_l1_udp_flows_active'), 2);
  t.equal(metric(m, 'vcp_l1_udp_flows_created_total', { member: 'c1/0' }), 1);
  t.equal(metric(m, 'vcp_l1_datagrams_in_total', { member: 'c1/0' }), 5);
  t.equal(metric(m, 'vcp_l1_datagrams_out_total', { member: 'c1/0' }), 5);
  t.equal(metric(m, 'vcp_l1_bytes_in_total', { member: 'c1/0' }), 5 * 'datagram 0'.length);
});

t.test('UDP: idle flows expire; a full table drops datagrams and counts them', async (t) => {
  const { l1, byId } = await rig(t, { udp: '{ idleTimeoutMs: 200, maxFlows: 2 }' });
  const a = await udpClient(t, portFor(IDS2, 'c1/0'));
  const b = await udpClient(t, portFor(IDS2, 'c2/0'));
  const c = await udpClient(t, portFor(IDS2, 'c1/0'));
  sendUdp(a, 'a1');
  sendUdp(b, 'b1');
  await waitFor('two flows answered', () => a.replies.length === 1 && b.replies.length === 1);
  sendUdp(c, 'c1');
  await waitFor('the drop counted', async () => metric(await scrape(), 'vcp_l1_udp_table_full_drops_total', { listener: 'sip/udp' }) === 1);
  t.equal(c.replies.length, 0, 'the third flow did not fit');
  t.notOk(byId('c1/0').udp.some((x) => x.payload.toString() === 'c1'), 'and its datagram never reached a member');

  await waitFor('idle flows expired', () => l1.udp[0]!.flows === 0);
  t.equal(metric(await scrape(), 'vcp_l1_udp_flows_active'), 0);
  sendUdp(c, 'c2');
  await waitFor('room again', () => c.replies.length === 1);
  const firstFlowPort = byId('c1/0').udp[0]!.from.port;
  sendUdp(a, 'a2');
  await waitFor('a answered again', () => a.replies.length === 2);
  const again = byId('c1/0').udp.find((x) => x.payload.toString() === 'a2')!;
  t.not(again.from.port, firstFlowPort, 'an expired flow comes back on a new flow socket');
  t.equal(metric(await scrape(), 'vcp_l1_udp_flows_created_total', { member: 'c1/0' }), 3);
});

t.test('UDP: a flow moves when its member goes down or answers with ICMP errors', async (t) => {
  const { l1, byId } = await rig(t);
  const u = await udpClient(t, portFor(IDS2, 'c1/0'));
  sendUdp(u, 'one');
  await waitFor('at c1', () => byId('c1/0').udp.length === 1);
  await byId('c1/0').stopHealth();
  await waitFor('c1 down', () => !l1.members.get('c1/0')!.up);
  sendUdp(u, 'two');
  await waitFor('moved to c2', () => byId('c2/0').udp.length === 1);
  t.same(byId('c2/0').udp[0]!.header, { command: 'proxy', transport: 'udp', srcAddress: CLIENT, srcPort: u.address().port, dstAddress: WK, dstPort: 5060 });
  t.equal(byId('c1/0').udp.length, 1);
  t.equal(metric(await scrape(), 'vcp_l1_udp_repicks_total', { listener: 'sip/udp' }), 1);

  // Health says up, but the member's port is closed: the ICMP error moves the flow.
  await byId('c1/0').startHealth();
  await waitFor('c1 up', () => l1.members.get('c1/0')!.up);
  const v = await udpClient(t, portFor(IDS2, 'c1/0'));
  sendUdp(v, 'first');
  await waitFor('at c1', () => byId('c1/0').udp.length === 2);
  await byId('c1/0').stopUdp();
  await waitFor('a datagram of the flow reached c2', () => {
    sendUdp(v, 'retry');
    return byId('c2/0').udp.some((x) => x.header.srcPort === v.address().port);
  });
  t.ok(metric(await scrape(), 'vcp_l1_connect_errors_total', { member: 'c1/0' }) >= 1, 'the ICMP error counted against c1');
  t.ok(l1.members.get('c1/0')!.up, 'health alone decides up and down');
});

t.test('UDP: a flow whose only member fails its probes stays with it; a new flow finds no member', async (t) => {
  const { l1, byId } = await rig(t, { members: 1 });
  const u = await udpClient(t, 21900);
  sendUdp(u, 'one');
  await waitFor('at c1', () => byId('c1/0').udp.length === 1);
  await byId('c1/0').stopHealth();
  await waitFor('c1 down', () => !l1.members.get('c1/0')!.up);
  sendUdp(u, 'two');
  await waitFor('the flow still reaches c1', () => byId('c1/0').udp.length === 2);
  t.equal(byId('c1/0').udp[1]!.payload.toString(), 'two');
  const scraped = await scrape();
  t.equal(metric(scraped, 'vcp_l1_udp_repicks_total', { listener: 'sip/udp' }), 0, 'not counted as a move');
  t.equal(metric(scraped, 'vcp_l1_udp_no_member_drops_total', { listener: 'sip/udp' }), 0, 'nothing dropped');
  const v = await udpClient(t, 21901);
  sendUdp(v, 'new');
  await waitFor('the new flow dropped', async () => metric(await scrape(), 'vcp_l1_udp_no_member_drops_total', { listener: 'sip/udp' }) === 1);
  t.equal(byId('c1/0').udp.length, 2, 'a new client is not sent to a member that is down');
});

t.test('health: down after `fall` failed probes, up after `rise` good ones; /health follows', async (t) => {
  const { l1, byId } = await rig(t, { health: '{ intervalMs: 50, timeoutMs: 200, fall: 3, rise: 2 }' });
  await byId('c1/0').stopHealth();
  await waitFor('c1 down in the metrics', async () => metric(await scrape(), 'vcp_l1_member_up', { member: 'c1/0' }) === 0);
  t.ok(metric(await scrape(), 'vcp_l1_health_probe_failures_total', { member: 'c1/0' }) >= 3, 'at least `fall` failures were counted');
  t.match((await http('GET', '/members')).body, [{ id: 'c1/0', up: false }, { id: 'c2/0', up: true }]);
  const s = await tcpClient(t, portFor(IDS2, 'c1/0'));
  s.write('hi');
  await readN(s, 2);
  t.equal(byId('c2/0').tcp.length, 1, 'a member that is down gets no connection');
  t.equal(byId('c1/0').tcp.length, 0);

  byId('c1/0').healthStatus = 500;
  const failed = metric(await scrape(), 'vcp_l1_health_probe_failures_total', { member: 'c1/0' });
  await byId('c1/0').startHealth();
  // As many probes answered 500 as `rise` would need to bring it up.
  await waitFor('two probes answered 500', async () => metric(await scrape(), 'vcp_l1_health_probe_failures_total', { member: 'c1/0' }) >= failed + 2);
  t.notOk(l1.members.get('c1/0')!.up, 'an answer other than 200 is a failure');
  byId('c1/0').healthStatus = 200;
  await waitFor('c1 up again', () => l1.members.get('c1/0')!.up);
  t.equal(metric(await scrape(), 'vcp_l1_member_up', { member: 'c1/0' }), 1);

  await byId('c1/0').stopHealth();
  await byId('c2/0').stopHealth();
  await waitFor('no member up', () => l1.members.upCount === 0);
  t.match(await http('GET', '/health'), { status: 503, body: { status: 'unavailable', reason: 'no member is up', membersUp: 0 } });
  const lost = createSocket('udp4');
  t.teardown(() => lost.close());
  await new Promise<void>((r) => lost.bind(0, CLIENT, () => r()));
  sendUdp(lost, 'nobody');
  await waitFor('the drop counted', async () => metric(await scrape(), 'vcp_l1_udp_no_member_drops_total', { listener: 'sip/udp' }) === 1);
  await byId('c2/0').startHealth();
  await waitFor('serving again', async () => (await http('GET', '/health')).status === 200);
});

t.test('tcp.maxConnections: a connection over the bound is refused and counted', async (t) => {
  await rig(t, { tcp: '{ connectTimeoutMs: 1000, maxConnections: 1 }' });
  const a = await tcpClient(t, portFor(IDS2, 'c1/0'));
  a.write('a');
  await readN(a, 1);
  // Refused with a reset, which on loopback may arrive before the connect completes.
  const b = connect({ host: WK, port: 5060, localAddress: CLIENT, localPort: portFor(IDS2, 'c1/0') });
  t.teardown(() => b.destroy());
  const r = await readAll(b);
  t.equal(r.data.length, 0, 'the second connection got nothing');
  t.equal(metric(await scrape(), 'vcp_l1_tcp_refused_total', { listener: 'sip/tcp' }), 1);
  a.end();
  await readAll(a);
  await waitFor('the slot is free', async () => metric(await scrape(), 'vcp_l1_tcp_connections_active') === 0);
  const c = await tcpClient(t, portFor(IDS2, 'c1/0'));
  c.write('c');
  t.equal((await readN(c, 1)).toString(), 'c', 'a slot freed is taken again');
});

t.test('shutdown: new flows refused, open ones finish, then everything closes', async (t) => {
  const { l1, byId } = await rig(t);
  const s = await tcpClient(t, portFor(IDS2, 'c1/0'));
  s.write('x');
  await readN(s, 1);
  const u = await udpClient(t, portFor(IDS2, 'c2/0'));
  sendUdp(u, 'before');
  await waitFor('udp reply', () => u.replies.length === 1);
  const done = l1.shutdown(10_000);
  t.match(await http('GET', '/health'), { status: 503, body: { reason: 'stopping' } }, 'the track script sees it go');
  await t.rejects(tcpClient(t, portFor(IDS2, 'c1/0')), 'the listener no longer accepts');
  const fresh = await udpClient(t, portFor(IDS2, 'c1/0'));
  sendUdp(fresh, 'late');
  sendUdp(u, 'during');
  await waitFor('the open flow still answered', () => u.replies.length === 2);
  t.notOk(byId('c1/0').udp.some((x) => x.payload.toString() === 'late'), 'a new flow was not opened');
  s.write('y');
  t.equal((await readN(s, 1)).toString(), 'y', 'the open connection still works');
  const all = readAll(s);
  s.end();
  t.equal((await all).data.toString(), 'bye', 'and finishes cleanly');
  await done;
  t.equal(l1.udp[0]!.flows, 0, 'flows closed');
  await t.rejects(fetch(METRICS), 'the HTTP endpoints are closed');
});

t.test('the process: listeners only for served ports, bind errors named, exit 0 on SIGTERM', async (t) => {
  requireBuild();
  const members = await Promise.all([new FakeMember('127.0.2.2', PROXIED, HEALTH).start()]);
  t.teardown(() => Promise.all(members.map((m) => m.stop())));
  const dir = tempDir('l1');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = writeFile(dir, 'l1.yaml', yaml({ members: 1 }));
  const p = node('layer1/main.js', ['--config', file]);
  t.teardown(() => p.stop('SIGKILL'));
  await waitFor('layer 1 serving', async () => (await fetch(`${CONTROL}/health`)).status === 200);
  const u = await udpClient(t, portFor(['c1/0'], 'c1/0'));
  sendUdp(u, 'via the process');
  await waitFor('reply', () => u.replies.length === 1);
  // No member has an H.323 or RAS port: those listeners stay closed, so the ports are free here.
  const h323 = createServer();
  await new Promise<void>((resolve, reject) => h323.once('error', reject).listen(1720, WK, () => resolve()));
  h323.close();
  const ras = createSocket('udp4');
  await new Promise<void>((resolve, reject) => ras.once('error', reject).bind(1719, WK, () => resolve()));
  ras.close();
  t.pass('1720/tcp and 1719/udp were not opened');

  // The operator CLI against the running process.
  const ctl = async (...args: string[]): Promise<{ code: number | null; out: string }> => {
    const c = node('scripts/l1ctl.js', ['--config', file, ...args]);
    const code = await c.exited;
    return { code, out: c.output() };
  };
  const listed = await ctl('list');
  t.equal(listed.code, 0);
  t.match(listed.out, /MEMBER\s+ADDRESS\s+STATE\s+CONNECTIONS\s+FLOWS\nc1\/0\s+127\.0\.2\.2\s+up\s+0\s+1\n/);
  t.match(await ctl('drain', 'c1/0'), { code: 0, out: /c1\/0: draining \(no new flows; open ones continue\); 0 connections, 1 flows open/ });
  t.match(await ctl('--json', 'list'), { code: 0, out: /"draining": true/ });
  t.match(await ctl('health'), { code: 0, out: /ok \(serving\): 1 of 1 members up/ });
  t.match(await ctl('undrain', 'c1/0'), { code: 0, out: /taking new flows/ });
  t.match(await ctl('drain', 'c7/0'), { code: 1, out: /l1ctl: layer 1 control at http:\/\/127\.0\.2\.1:9101: no layer-1 member "c7\/0" \(members: c1\/0\) \[VCP_ERR_L1_UNKNOWN_MEMBER\]/ });
  t.match(await ctl('drain'), { code: 2, out: /needs a member id/ });
  t.match(await ctl('bogus'), { code: 2, out: /unknown command "bogus"/ });
  t.match(await ctl('--url', 'http://127.0.2.1:9', 'list'), { code: 1, out: /l1ctl: layer 1 control at http:\/\/127\.0\.2\.1:9: no answer .*\[VCP_ERR_L1_CONTROL\]/ });

  // A second layer 1 on the same address cannot bind: the error names address, port and role.
  const clash = node('layer1/main.js', ['--config', file]);
  const code = await clash.exited;
  t.equal(code, 1);
  t.match(clash.output(), /layer1: cannot bind layer 1 sip\/(udp|tcp) on 127\.0\.2\.1:5060 \(EADDRINUSE\) \[VCP_ERR_BIND\]/);

  const exit = p.exited;
  p.child.kill('SIGTERM');
  t.equal(await exit, 0, 'SIGTERM: exit 0');

  const none = node('layer1/main.js', ['--config', writeFile(dir, 'none.yaml', yaml({ members: 1 }).replace('pops: [ { name: t } ]', 'pops: [ { name: t }, { name: u } ]').replace('pop: t\nwellKnown', 'pop: u\nwellKnown'))]);
  t.equal(await none.exited, 1);
  t.match(none.output(), /l1\.yaml|none\.yaml: layer1\.pop: a POP with at least one connector \(no connector is in POP "u"\) \[VCP_ERR_CONFIG\]/);
});
