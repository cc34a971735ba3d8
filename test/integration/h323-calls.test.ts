import t from 'tap';
import { buildReleaseComplete, buildSetup, endpointType } from '../../layer2/h323/builder.js';
import { dialledDigits, h323Id, transportAddress } from '../../layer2/h323/h225.js';
import { encodeH323, type H323Message } from '../../layer2/h323/message.js';
import { MsgType } from '../../layer2/h323/q931.js';
import { buildGrq, buildRrq } from '../../layer2/h323/ras.js';
import { summarizeCall, summarizeRas } from '../../layer2/h323/summary.js';
import { tpkt } from '../../layer2/h323/tpkt.js';
import { H323Mcu } from '../../scripts/sim/h323-mcu.js';
import { H323Endpoint, type LoadReport } from '../../scripts/sim/h323-endpoint.js';
import { node, waitFor } from '../helpers/procs.js';
import { metric, startStack, type Stack } from '../helpers/stack.js';
import { H323Conn, RasClient } from '../helpers/h323-peer.js';
import { IDENTITIES } from '../helpers/h323-vectors.js';

// Real processes: layer 1 on 127.0.5.40 (POP a), connector ca (two workers, POP a) and cb (POP b),
// MCU simulators for the servers of each POP. Every address is in 127.0.5.0/24.
const WK = '127.0.5.40';
const CA = '127.0.5.41';
const CB = '127.0.5.42';
const MA = '127.0.5.51';
const MB = '127.0.5.52';
const PORTS = '{ sipProxied: 15060, sip: 25060, h323Proxied: 11720, h323: 21720, rasProxied: 11719, ras: 21719, health: 18080 }';

const CONFIG = `
pop: a
wellKnown: { address: ${WK}, sip: 5060, h323: 1720, ras: 1719 }
pops: [ { name: a }, { name: b } ]
layer1:
  # Probes patient enough for a loaded test machine: these tests are not about detecting a dead member.
  health: { intervalMs: 200, timeoutMs: 1000, fall: 3, rise: 1 }
  metrics: { address: ${WK}, port: 9100 }
  control: { address: ${WK}, port: 9101 }
connectors:
  - { name: ca, pop: a, address: ${CA}, workers: 2, ports: ${PORTS} }
  - { name: cb, pop: b, address: ${CB}, workers: 1, ports: ${PORTS} }
servers:
  - { name: ma, pop: a, address: ${MA}, sipPort: 0, h323Port: 1720, capacity: 100000 }
  - { name: mb, pop: b, address: ${MB}, sipPort: 0, h323Port: 1720, capacity: 100000 }
networks:
  # Callers in 127.0.5.64/27 reach only POP b.
  - { name: lab-b, prefixes: [127.0.5.64/27], accessible: [b] }
techniques:
  classes: { "h323/lifesize": redirect }
# Generous: on a loaded machine a slow answer must not look like a dead server.
h323: { setupTimeoutMs: 20000 }
# The room-system simulator is the load tester: hundreds of calls a second from one address.
limits: { exempt: [127.0.5.0/24] }
`;

let stack: Stack;
let mb: H323Mcu;
const ma = node('scripts/sim/h323-mcu.js', ['--address', MA, '--port', '1720'], { VCP_LOG_LEVEL: 'info' });

t.before(async () => {
  mb = new H323Mcu({ address: MB, port: 1720 });
  await mb.start();
  await waitFor('MCU a ready', () => ma.output().includes('simulator ready'));
  stack = await startStack(CONFIG);
});

t.teardown(async () => {
  await stack?.stop();
  await mb?.close();
  await ma.stop();
});

const sum = async (ids: string[], name: string, labels: Record<string, string>): Promise<number> => {
  let n = 0;
  for (const id of ids) n += metric(await stack.workerMetrics(id), name, labels);
  return n;
};

t.test('room system simulator → layer 1 → layer 2 → MCU simulator: 2,000 calls, none failed', async (t) => {
  const ep = node('scripts/sim/h323-endpoint.js', [`${WK}:1720`, '--local', '127.0.5.60', '--to', 'room', '--dial', '8001', '-r', '200', '-m', '2000', '-l', '2000', '--timeout', '30000', '--json']);
  t.teardown(() => ep.stop());
  await ep.exited;
  const report = JSON.parse(ep.output().trim().split('\n').pop()!) as LoadReport;
  t.match(report, { attempted: 2000, succeeded: 2000, failed: 0, outcomes: { connected: 2000 } }, ep.output().slice(-1000));
  t.equal(ep.child.exitCode, 0);
  const connected = await Promise.all(['ca/0', 'ca/1'].map((id) => sum([id], 'vcp_h323_calls_total', { technique: 'local', outcome: 'connected' })));
  t.equal(connected[0]! + connected[1]!, 2000, 'every call proxied to the server of POP a');
  t.ok(connected[0]! > 0 && connected[1]! > 0, `layer 1 spread the calls over both workers (${connected.join(', ')})`);
  await waitFor('every call released', async () => (await sum(['ca/0', 'ca/1'], 'vcp_h323_calls', {})) === 0);
});

t.test('forward across POPs: the redirected room system follows to POP b\'s connector and arrives with its call identifier', async (t) => {
  const ep = new H323Endpoint({ host: WK, port: 1720, localAddress: '127.0.5.70', identity: IDENTITIES.lifesize, destinationAliases: [h323Id('board room')], calledNumber: '8002', onForward: 'follow', timeoutMs: 30000 });
  t.teardown(() => ep.close());
  const results = [];
  for (let i = 0; i < 8; i++) results.push(await ep.call());
  t.ok(results.every((r) => r.ok), 'every call connected');
  t.ok(results.every((r) => mb.arrivals(r.callIdentifier) === 1), 'each call reached the MCU of POP b once, with its call identifier');
  const forwarded = results.filter((r) => r.forwardedTo.length > 0);
  t.ok(forwarded.length >= 1, `${forwarded.length} of 8 calls were forwarded (a redirect not yet proven is tried one at a time)`);
  t.ok(forwarded.every((r) => r.forwardedTo[0] === `${CB}:21720`), 'to the connector of POP b');
  t.equal(results[0]!.forwardedTo.length, 1, 'the first call of the class was forwarded');
  const redirected = await sum(['ca/0', 'ca/1'], 'vcp_h323_calls_total', { technique: 'redirect', outcome: 'redirected' });
  t.equal(redirected, forwarded.length);
  t.equal(await sum(['ca/0', 'ca/1'], 'vcp_h323_calls_total', { technique: 'proxy', outcome: 'connected' }), 8 - forwarded.length, 'the others were proxied to POP b');
  await waitFor('the redirects closed as arrived at POP b', async () => (await sum(['cb/0'], 'vcp_decision_outcomes_total', { technique: 'redirect', outcome: 'arrived' })) === forwarded.length);
  t.equal(await sum(['cb/0'], 'vcp_h323_calls_total', { technique: 'local', outcome: 'connected' }), forwarded.length, 'POP b carried each arrival to its server');
});

t.test('bad input through layer 1: a malformed Setup is refused; the other call on the worker goes on', async (t) => {
  const good = await H323Conn.open(WK, 1720, '127.0.5.61');
  t.teardown(() => good.close());
  const setup = buildSetup({ callReference: 5, identity: IDENTITIES.polycom, destinationAliases: [dialledDigits('8003')] });
  good.send(setup);
  await good.wait((m) => m.q931.type === MsgType.Connect, 'Connect');
  for (let i = 0; i < 4; i++) {
    const bad = await H323Conn.open(WK, 1720, `127.0.5.${62 + i}`);
    t.teardown(() => bad.close());
    const broken: H323Message = buildSetup({ callReference: 6 + i });
    const q = { ...broken.q931, ies: [...broken.q931.ies, { id: 0x7e, data: Buffer.from('05ffffff', 'hex') }] };
    bad.write(tpkt(encodeH323({ q931: q, uu: undefined })));
    const rc = await bad.wait((m) => m.q931.type === MsgType.ReleaseComplete, 'the refusal');
    t.equal(summarizeCall(rc).cause, 100);
    await bad.waitClosed();
  }
  t.notOk(good.closed, 'the good call is still up');
  good.send(buildReleaseComplete({ callReference: 5, fromDestination: false }));
  await good.waitClosed();
  t.equal(await sum(['ca/0', 'ca/1'], 'vcp_h323_rejected_total', { reason: 'malformed' }), 4);
});

t.test('RAS through layer 1: GCF and RCF name the well-known address and POP b\'s gatekeeper; a class taken by redirect to POP b gets RRJ', async (t) => {
  const ep = await RasClient.open('127.0.5.80');
  t.teardown(() => ep.close());
  const et = endpointType(IDENTITIES.polycom);
  const me = transportAddress('127.0.5.80', ep.port);
  ep.send(buildGrq({ requestSeqNum: 1, rasAddress: me, endpointType: et, supportsAltGK: true }), 1719, WK);
  t.match(summarizeRas(await ep.reply(1)), { ras: 'GCF', rasAddress: `${WK}:1719`, alternateGatekeepers: [`${CB}:21719`] });
  ep.send(buildRrq({ requestSeqNum: 2, callSignalAddress: [transportAddress('127.0.5.80', 1720)], rasAddress: [me], terminalType: et, vendor: et.vendor!, aliases: [h323Id('room 80')] }), 1719, WK);
  t.match(summarizeRas(await ep.reply(2)), { ras: 'RCF', callSignalAddress: [`${WK}:1720`], alternateGatekeepers: [`${CB}:21719`] });
  const far = await RasClient.open('127.0.5.71');
  t.teardown(() => far.close());
  // Another product of the class: no redirect of its own awaits an arrival (probation), whatever the calls above left.
  const ls = endpointType({ ...IDENTITIES.lifesize, productId: 'LifeSize Icon 600', versionId: '2.9.1' });
  far.send(buildRrq({ requestSeqNum: 3, callSignalAddress: [transportAddress('127.0.5.71', 1720)], rasAddress: [transportAddress('127.0.5.71', far.port)], terminalType: ls, vendor: ls.vendor! }), 1719, WK);
  t.match(summarizeRas(await far.reply(3)), { ras: 'RRJ', alternateGatekeepers: [`${CB}:21719`] });
});
