import t, { type Test } from 'tap';
import { createSocket } from 'node:dgram';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { H323Mcu } from '../../scripts/sim/h323-mcu.js';
import { H323Endpoint, parseAlias, runLoad } from '../../scripts/sim/h323-endpoint.js';
import { H323Stream } from '../../scripts/sim/h323-stream.js';
import { buildFacilityForward, buildSetup, endpointType, setupOf } from '../../layer2/h323/builder.js';
import { bodyOf, type H323Message } from '../../layer2/h323/message.js';
import { MsgType } from '../../layer2/h323/q931.js';
import { dialledDigits, emailId, guidToString, h323Id, transportAddress, urlId } from '../../layer2/h323/h225.js';
import { buildGrq, buildRrq, decodeRas, encodeRas, rasSeqNum } from '../../layer2/h323/ras.js';
import { summarizeCall, summarizeRas } from '../../layer2/h323/summary.js';
import { tpkt } from '../../layer2/h323/tpkt.js';
import { node, requireBuild, waitFor } from '../helpers/procs.js';
import { rasVectors } from '../helpers/h323-vectors.js';

/** Simulators on loopback 127.0.5.0/24: the MCU, the room system in each forward behaviour, RAS, load, CLIs. */

const MCU = '127.0.5.10';
const FWD = '127.0.5.11';
const EP = '127.0.5.1';

async function mcu(t: Test, o: Partial<ConstructorParameters<typeof H323Mcu>[0]> = {}): Promise<H323Mcu> {
  const m = new H323Mcu({ address: MCU, port: 0, ...o });
  await m.start();
  t.teardown(() => m.close());
  return m;
}

/** A stand-in for the connector's redirect: answers every Setup with Facility callForwarded to `target`. */
async function forwarder(t: Test, target: () => { ip: string; port: number }): Promise<{ port: number; seen: H323Message[]; closed: () => number }> {
  const seen: H323Message[] = [];
  let closed = 0;
  const srv: Server = createServer((sock) => {
    const stream = new H323Stream(sock, {
      message: (m) => {
        seen.push(m);
        if (m.q931.type === MsgType.Setup) stream.send(buildFacilityForward(m, transportAddress(target().ip, target().port)));
        if (m.q931.type === MsgType.ReleaseComplete) sock.end();
      },
      malformed: () => sock.destroy(),
    });
    sock.on('close', () => closed++);
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, FWD, r));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  return { port: (srv.address() as AddressInfo).port, seen, closed: () => closed };
}

t.test('a call: Setup → Call Proceeding, Alerting, Connect → Release Complete', async (t) => {
  const m = await mcu(t);
  const ep = new H323Endpoint({ host: MCU, port: m.port, localAddress: EP, destinationAliases: [dialledDigits('8001')], calledNumber: '8001', sourceAliases: [h323Id('Room A')], display: 'Room A' });
  t.teardown(() => ep.close());
  const r = await ep.call();
  t.match(r, { ok: true, outcome: 'connected', forwardedTo: [] });
  t.ok(r.setupMs! >= 0);
  t.equal(m.arrivals(r.callIdentifier), 1, 'the MCU recorded the call identifier');
  await waitFor('release', () => m.stats.released === 1);
  t.match(m.stats, { setups: 1, connected: 1, released: 1, active: 0, malformed: 0 });
});

t.test('Facility callForwarded: follow, ignore, drop', async (t) => {
  const m = await mcu(t);
  const fwd = await forwarder(t, () => ({ ip: MCU, port: m.port }));
  const base = { host: FWD, port: fwd.port, localAddress: EP, destinationAliases: [dialledDigits('8001')], calledNumber: '8001', timeoutMs: 8000 };

  const follow = new H323Endpoint({ ...base, onForward: 'follow' });
  t.teardown(() => follow.close());
  const r = await follow.call();
  t.match(r, { ok: true, outcome: 'connected', forwardedTo: [`${MCU}:${m.port}`] });
  await m.waitForCall(r.callIdentifier);
  t.equal(m.arrivals(r.callIdentifier), 1, 'the forwarded call arrives with its token (the call identifier)');
  const first = fwd.seen.find((x) => x.q931.type === MsgType.Setup)!;
  t.equal(guidToString(setupOf(first)!.callIdentifier!.guid), r.callIdentifier, 'same call identifier on both legs');
  await waitFor('caller release at the forwarder', () => fwd.seen.some((x) => x.q931.type === MsgType.ReleaseComplete));
  t.match(summarizeCall(fwd.seen.find((x) => x.q931.type === MsgType.ReleaseComplete)!), { releaseReason: 'facilityCallDeflection', fromDestination: false });

  const ignore = new H323Endpoint({ ...base, onForward: 'ignore', timeoutMs: 1500 });
  t.teardown(() => ignore.close());
  const ri = await ignore.call();
  t.match(ri, { ok: false, outcome: 'timeout', forward: 'ignored', forwardedTo: [] });
  t.equal(m.arrivals(ri.callIdentifier), 0, 'an ignored redirect never reaches the MCU');

  const closedBefore = fwd.closed();
  const drop = new H323Endpoint({ ...base, onForward: 'drop' });
  t.teardown(() => drop.close());
  const rd = await drop.call();
  t.match(rd, { ok: false, outcome: 'dropped', forward: 'dropped' });
  await waitFor('forwarder sees the connection close', () => fwd.closed() > closedBefore);
  t.equal(m.arrivals(rd.callIdentifier), 0);

  let selfPort = 0;
  const self = await forwarder(t, () => ({ ip: FWD, port: selfPort }));
  selfPort = self.port;
  const looping = new H323Endpoint({ ...base, port: self.port, onForward: 'follow', maxForwards: 2 });
  t.teardown(() => looping.close());
  t.match(await looping.call(), { ok: false, outcome: 'too-many-forwards', forwardedTo: [`${FWD}:${self.port}`, `${FWD}:${self.port}`, `${FWD}:${self.port}`] }, 'a redirect loop ends');
});

t.test('failures: rejected, refused, MCU hang-up during hold', async (t) => {
  const rejecting = await mcu(t, { answer: 'reject' });
  const ep = new H323Endpoint({ host: MCU, port: rejecting.port, localAddress: EP });
  t.teardown(() => ep.close());
  t.match(await ep.call(), { ok: false, outcome: 'released', cause: 21, releaseReason: 'destinationRejection' });
  t.equal(rejecting.stats.rejected, 1);

  const closed = new H323Endpoint({ host: MCU, port: 1, localAddress: EP });
  t.match(await closed.call(), { ok: false, outcome: 'refused' });

  const short = await mcu(t, { holdMs: 50 });
  const holder = new H323Endpoint({ host: MCU, port: short.port, localAddress: EP, holdMs: 500 });
  t.teardown(() => holder.close());
  t.match(await holder.call(), { ok: true });
  await waitFor('MCU hang-up', () => short.stats.hungUp === 1);
  t.equal(short.stats.active, 0);

  const slow = await mcu(t, { alertingDelayMs: 2000 });
  const impatient = new H323Endpoint({ host: MCU, port: slow.port, localAddress: EP, timeoutMs: 300 });
  t.teardown(() => impatient.close());
  t.match(await impatient.call(), { ok: false, outcome: 'timeout' });
  await waitFor('MCU sees the timeout release', () => slow.stats.released === 1);
});

t.test('bad input to the MCU: Release Complete for the call in progress, then the connection closes', async (t) => {
  const m = await mcu(t);
  const got: H323Message[] = [];
  const sock = connect({ host: MCU, port: m.port, localAddress: EP });
  t.teardown(() => sock.destroy());
  const stream = new H323Stream(sock, { message: (x) => got.push(x), malformed: () => undefined });
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const setup = buildSetup({ callReference: 99, destinationAliases: [h323Id('room')] });
  stream.send(setup);
  await waitFor('Connect', () => got.some((x) => x.q931.type === MsgType.Connect));
  sock.write(tpkt(Buffer.from('0802', 'hex')));
  await new Promise<void>((r) => sock.once('close', () => r()));
  t.ok(got.some((x) => x.q931.type === MsgType.ReleaseComplete && x.q931.callReference === 99), 'the call is released');
  t.equal(m.stats.malformed, 1);
  t.equal(m.stats.active, 0);
  const raw = connect({ host: MCU, port: m.port, localAddress: EP });
  t.teardown(() => raw.destroy());
  raw.on('error', () => undefined);
  raw.write(Buffer.from('GET / HTTP/1.0\r\n\r\n'));
  await new Promise<void>((r) => raw.once('close', () => r()));
  t.equal(m.stats.malformed, 2, 'no call yet: the connection just closes');
});

t.test('RAS: GRQ → GCF with alternate gatekeepers, RRQ → RCF, a bad datagram is dropped and counted', async (t) => {
  const m = await mcu(t, { rasPort: 0, gatekeeperIdentifier: 'POP-A', alternates: [{ ip: '127.0.5.20', port: 1719, priority: 1 }] });
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, EP, () => r()));
  t.teardown(() => udp.close());
  const replies: Buffer[] = [];
  udp.on('message', (b) => replies.push(b));
  const et = endpointType({ t35CountryCode: 181, t35Extension: 0, manufacturerCode: 18 });
  const me = transportAddress(EP, (udp.address() as AddressInfo).port);
  udp.send(encodeRas(buildGrq({ requestSeqNum: 41, rasAddress: me, endpointType: et, supportsAltGK: true })), m.rasPort!, MCU);
  await waitFor('GCF', () => replies.length === 1);
  t.match(summarizeRas(decodeRas(replies[0]!)), { ras: 'GCF', requestSeqNum: 41, gatekeeperIdentifier: 'POP-A', rasAddress: `${MCU}:${m.rasPort}`, alternateGatekeepers: ['127.0.5.20:1719'] });
  udp.send(encodeRas(buildRrq({ requestSeqNum: 42, callSignalAddress: [me], rasAddress: [me], terminalType: et, vendor: et.vendor!, aliases: [h323Id('room')] })), m.rasPort!, MCU);
  await waitFor('RCF', () => replies.length === 2);
  const rcf = decodeRas(replies[1]!);
  t.equal(rcf.choice, 'registrationConfirm');
  t.equal(rasSeqNum(rcf), 42);
  t.match(summarizeRas(rcf), { endpointIdentifier: /^EP-\d+$/, callSignalAddress: [`${MCU}:${m.port}`] });
  const reqs = rasVectors();
  for (const name of ['urq', 'arq', 'drq', 'lrq', 'ucf']) udp.send(encodeRas(reqs.get(name)!), m.rasPort!, MCU);
  await waitFor('UCF, ACF, DCF, LCF', () => replies.length === 6);
  const got = replies.slice(2).map((b) => summarizeRas(decodeRas(b)));
  t.same(got.map((s) => s.ras).sort(), ['ACF', 'DCF', 'LCF', 'UCF']);
  t.match(got.find((s) => s.ras === 'ACF'), { requestSeqNum: 9, destCallSignalAddress: `${MCU}:${m.port}` }, 'ACF steers the call to the MCU');
  t.match(got.find((s) => s.ras === 'LCF'), { requestSeqNum: 10, callSignalAddress: [`${MCU}:${m.port}`] });
  udp.send(Buffer.from('ff00', 'hex'), m.rasPort!, MCU);
  await waitFor('counted', () => m.stats.rasMalformed === 1);
  t.same(m.stats.ras, { GRQ: 1, RRQ: 1, URQ: 1, ARQ: 1, DRQ: 1, LRQ: 1, UCF: 1 }, 'a confirm sent to it is counted, not answered');
});

t.test('load mode: N calls at a rate with a concurrency limit, sipp-like report', async (t) => {
  const m = await mcu(t);
  const ep = new H323Endpoint({ host: MCU, port: m.port, localAddress: EP, destinationAliases: [h323Id('room')] });
  t.teardown(() => ep.close());
  const progress: number[] = [];
  const rep = await runLoad(ep, { rate: 300, max: 600, concurrency: 40, progress: (p) => progress.push(p.attempted) });
  t.match(rep, { attempted: 600, succeeded: 600, failed: 0, active: 0, outcomes: { connected: 600 } });
  t.ok(rep.setupMs.min <= rep.setupMs.p50 && rep.setupMs.p50 <= rep.setupMs.p95 && rep.setupMs.p95 <= rep.setupMs.max);
  t.ok(progress.length >= 1, 'progress reported while running');
  t.equal(m.stats.setups, 600);
  t.equal(m.stats.callIdentifiers.size, 600, 'every call has its own identifier');
  const down = new H323Endpoint({ host: MCU, port: 1, localAddress: EP });
  const bad = await runLoad(down, { rate: 100, max: 20, concurrency: 5 });
  t.match(bad, { attempted: 20, succeeded: 0, failed: 20, outcomes: { refused: 20 } });
});

t.test('aliases on the command line', async (t) => {
  t.same(parseAlias('8001'), dialledDigits('8001'));
  t.same(parseAlias('h323:room@example.com'), urlId('h323:room@example.com'));
  t.same(parseAlias('room@example.com'), emailId('room@example.com'));
  t.same(parseAlias('Room 1'), h323Id('Room 1'));
});

t.test('the CLIs: MCU with RAS, endpoint single call and load with --json', async (t) => {
  requireBuild();
  const port = 17301;
  const mcuProc = node('scripts/sim/h323-mcu.js', ['--address', '127.0.5.30', '--port', String(port), '--ras-port', '17302']);
  t.teardown(() => mcuProc.stop());
  await waitFor('MCU CLI listening', () => new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.5.30', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  }));
  const one = node('scripts/sim/h323-endpoint.js', [`127.0.5.30:${port}`, '--local', EP, '--dial', '8001', '--from', 'Room A', '--manufacturer', '18', '--json']);
  const oneCode = await one.exited;
  t.equal(oneCode, 0, one.output());
  t.match(JSON.parse(one.output().trim().split('\n').pop()!), { ok: true, outcome: 'connected' });
  const load = node('scripts/sim/h323-endpoint.js', [`127.0.5.30:${port}`, '--local', EP, '--to', 'room', '-r', '200', '-m', '300', '-l', '50', '--json']);
  const loadCode = await load.exited;
  t.equal(loadCode, 0, load.output());
  t.match(JSON.parse(load.output().trim().split('\n').pop()!), { attempted: 300, succeeded: 300, failed: 0 });
  const text = node('scripts/sim/h323-endpoint.js', [`127.0.5.30:${port + 5}`, '--local', EP, '-r', '50', '-m', '5']);
  const textCode = await text.exited;
  t.equal(textCode, 1, 'failures give exit status 1');
  t.match(text.output(), /calls: 5 {2}successful: 0 {2}failed: 5/);
  await mcuProc.stop();
  const stats = JSON.parse(mcuProc.output().trim().split('\n').filter((l) => l.includes('"setups"')).pop()!);
  t.match(stats, { setups: 301, connected: 301, malformed: 0, distinctCallIdentifiers: 301 });
});

t.test('a Setup the MCU answers carries what the caller sent', async (t) => {
  const m = await mcu(t);
  const got: H323Message[] = [];
  const sock = connect({ host: MCU, port: m.port, localAddress: EP });
  t.teardown(() => sock.destroy());
  const stream = new H323Stream(sock, { message: (x) => got.push(x), malformed: () => undefined });
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const setup = buildSetup({ callReference: 7, destinationAliases: [h323Id('room')], h245Tunnelling: false });
  stream.send(setup);
  await waitFor('three answers', () => got.length === 3);
  t.same(got.map((x) => [x.q931.type, x.q931.callReference, x.q931.fromDestination]), [
    [MsgType.CallProceeding, 7, true],
    [MsgType.Alerting, 7, true],
    [MsgType.Connect, 7, true],
  ]);
  t.same(got.map((x) => x.uu?.['h323-uu-pdu'].h245Tunnelling), [false, false, false], 'tunnelling choice mirrored');
  t.same(got.map((x) => bodyOf(x)?.choice), ['callProceeding', 'alerting', 'connect']);
  t.match(summarizeCall(got[2]!), { vendor: { manufacturerName: 'OpenH323', productId: 'vcproxy MCU simulator' } });
});
