import t, { type Test } from 'tap';
import { parseConfig } from '../../shared/config/load.js';
import { createLogger } from '../../shared/logger.js';
import { encodeProxyV2 } from '../../shared/proxy-v2.js';
import { startWorker, type WorkerHandle } from '../../layer2/worker.js';
import { buildAlerting, buildCallProceeding, buildConnect, buildReleaseComplete, buildReleaseFor, buildSetup, setupOf, type SetupOptions } from '../../layer2/h323/builder.js';
import { dialledDigits, guidToString, h323Id, transportAddress, transportToString, type FacilityUUIE } from '../../layer2/h323/h225.js';
import { bodyOf, decodeH323, encodeH323, type H323Message } from '../../layer2/h323/message.js';
import { MsgType } from '../../layer2/h323/q931.js';
import { summarizeCall } from '../../layer2/h323/summary.js';
import { tpkt } from '../../layer2/h323/tpkt.js';
import { H323Mcu } from '../../scripts/sim/h323-mcu.js';
import { H323Endpoint } from '../../scripts/sim/h323-endpoint.js';
import { metric } from '../helpers/stack.js';
import { waitFor } from '../helpers/procs.js';
import { H323Conn, H323ScriptedServer } from '../helpers/h323-peer.js';
import { END_SESSION, IDENTITIES, OLC } from '../helpers/h323-vectors.js';

// An in-process worker on 127.0.6.2 with scripted callers and servers in 127.0.6.0/24: the H.323
// connector's behaviour one call at a time.
const WK = '127.0.6.1';
const CONN = '127.0.6.2';
const PORT = 21720;
const PROXIED = 11720;
const log = createLogger('test');
log.level = 'silent';

/** Timers generous enough for a loaded machine; a test about a silent server shortens the setup timeout. */
async function worker(t: Test, servers: string, extra = '', h323 = 'connectTimeoutMs: 5000, setupTimeoutMs: 10000'): Promise<WorkerHandle> {
  const dir = t.testdir();
  const config = parseConfig(`
pop: t
wellKnown: { address: ${WK}, h323: 1720, ras: 1719 }
pops: [ { name: t } ]
connectors:
  - { name: c, pop: t, address: ${CONN}, workers: 1, ports: { sip: 25060, h323: ${PORT}, h323Proxied: ${PROXIED}, ras: 21719, rasProxied: 11719, health: 18080 } }
servers:
${servers}
h323: { ${h323}, forwardReleaseMs: 300, headerTimeoutMs: 300, maxMessageBytes: 2048 }
profiles: { path: profiles }
${extra}
`, `${dir}/h323-test.yaml`);
  const w = await startWorker(config, config.connectors[0]!.endpoints[0]!, log);
  t.teardown(() => w.close());
  return w;
}

const metrics = async (): Promise<string> => (await fetch(`http://${CONN}:18080/metrics`)).text();

async function caller(t: Test, local: string, port = PORT, first?: Buffer): Promise<H323Conn> {
  const c = await H323Conn.open(CONN, port, local, first);
  t.teardown(() => c.close());
  return c;
}

async function server(t: Test, address: string, script: (m: H323Message, c: H323Conn) => void, port = 1720): Promise<H323ScriptedServer> {
  const s = await new H323ScriptedServer(script).listen(address, port);
  t.teardown(() => s.close());
  return s;
}

async function mcu(t: Test, address: string, o: Partial<ConstructorParameters<typeof H323Mcu>[0]> = {}): Promise<H323Mcu> {
  const m = new H323Mcu({ address, port: 1720, ...o });
  await m.start();
  t.teardown(() => m.close());
  return m;
}

/** Answers a Setup as an MCU would, with an H.245 address, and releases when the caller does. */
const answering = (m: H323Message, c: H323Conn): void => {
  if (m.q931.type === MsgType.Setup) {
    c.send(buildCallProceeding(m));
    c.send(buildAlerting(m));
    c.send(buildConnect(m, { h245Address: transportAddress('192.0.2.77', 30001) }));
  }
};

const is = (type: number, crv?: number) => (m: H323Message): boolean => m.q931.type === type && (crv === undefined || m.q931.callReference === crv);

const setupFor = (o: Partial<SetupOptions> = {}): H323Message =>
  buildSetup({ callReference: 7, identity: IDENTITIES.polycom, destinationAliases: [dialledDigits('8001')], calledNumber: '8001', sourceAliases: [h323Id('Room 7')], ...o });

t.test('proxy: the Setup reaches the server with destCallSignalAddress set and the rest as sent; answers and releases go both ways', async (t) => {
  const srv = await server(t, '127.0.6.10', answering);
  await worker(t, '  - { name: m, pop: t, address: 127.0.6.10, sipPort: 0, h323Port: 1720 }');
  const c = await caller(t, '127.0.6.100');
  const setup = setupFor({ fastStart: [OLC], sourceCallSignalAddress: transportAddress('127.0.6.100', 1720), destCallSignalAddress: transportAddress(WK, 1720) });
  setup.uu!['h323-uu-pdu'].h245Control = [END_SESSION];
  c.send(setup);
  const connect = await c.wait(is(MsgType.Connect, 7), 'Connect');
  t.equal(transportToString((bodyOf(connect)!.value as { h245Address?: never }).h245Address), '192.0.2.77:30001', 'H.245 goes end to end: the server\'s address reaches the caller');
  t.ok(c.received.some(is(MsgType.CallProceeding)) && c.received.some(is(MsgType.Alerting)), 'Call Proceeding and Alerting relayed');
  t.ok(c.received.every((m) => m.q931.fromDestination && m.q931.callReference === 7), 'the caller\'s call reference, from the destination side');

  const got = srv.all().find(is(MsgType.Setup))!;
  const s = setupOf(got)!;
  const sent = setupOf(setup)!;
  t.equal(transportToString(s.destCallSignalAddress), '127.0.6.10:1720', 'destCallSignalAddress names the server');
  t.same(s.callIdentifier!.guid, sent.callIdentifier!.guid, 'call identifier unchanged');
  t.same(s.conferenceID, sent.conferenceID);
  t.same(s.fastStart, [OLC], 'fastStart unchanged');
  t.same(got.uu!['h323-uu-pdu'].h245Control, [END_SESSION], 'tunnelled H.245 unchanged');
  t.equal(transportToString(s.sourceCallSignalAddress), '127.0.6.100:1720');
  t.same(summarizeCall(got).vendor, summarizeCall(setup).vendor, 'vendor identity unchanged');
  const rewritten = decodeH323(encodeH323(setup));
  setupOf(rewritten)!.destCallSignalAddress = transportAddress('127.0.6.10', 1720);
  t.same(encodeH323(got), encodeH323(rewritten), 'nothing else changed');

  // A tunnelled H.245 message from the caller, then the caller hangs up.
  const info = buildReleaseFor(setup);
  info.q931 = { ...info.q931, type: MsgType.Facility, fromDestination: false, ies: [] };
  info.uu = { 'h323-uu-pdu': { 'h323-message-body': { choice: 'facility', value: { protocolIdentifier: '0.0.8.2250.0.4', reason: { choice: 'undefinedReason', value: null } } }, h245Tunnelling: true, h245Control: [END_SESSION] } };
  c.send(info);
  await srv.wait((m) => m.q931.type === MsgType.Facility, 'the tunnelled Facility at the server');
  c.send(buildReleaseComplete({ callReference: 7, fromDestination: false, callIdentifier: sent.callIdentifier!.guid }));
  await srv.wait(is(MsgType.ReleaseComplete), 'the release at the server');
  await srv.conns[0]!.waitClosed();
  await c.waitClosed();
  t.pass('both connections closed after the last call');
  const m = await metrics();
  t.equal(metric(m, 'vcp_h323_calls_total', { technique: 'local', outcome: 'connected' }), 1);
  t.equal(metric(m, 'vcp_h323_calls'), 0, 'no call left');
});

t.test('from layer 1: the PROXY v2 header gives the caller; a server Facility that points past the connector points back at it', async (t) => {
  const srv = await server(t, '127.0.6.11', (m, c) => {
    if (m.q931.type !== MsgType.Setup) return;
    c.send(buildCallProceeding(m));
    const fwd = buildReleaseFor(m);
    fwd.q931 = { ...fwd.q931, type: MsgType.Facility, ies: [] };
    const f: FacilityUUIE = { protocolIdentifier: '0.0.8.2250.0.4', alternativeAddress: transportAddress('10.9.9.9', 1720), alternativeAliasAddress: [dialledDigits('8002')], reason: { choice: 'callForwarded', value: null } };
    fwd.uu = { 'h323-uu-pdu': { 'h323-message-body': { choice: 'facility', value: f } } };
    c.send(fwd);
    c.send(buildAlerting(m));
  });
  const w = await worker(t, '  - { name: m, pop: t, address: 127.0.6.11, sipPort: 0, h323Port: 1720 }');
  const header = encodeProxyV2({ transport: 'tcp', srcAddress: '198.51.100.7', srcPort: 40000, dstAddress: WK, dstPort: 1720 });
  const c = await caller(t, '127.0.6.101', PROXIED, header);
  c.send(setupFor({ callReference: 8 }));
  const fac = await c.wait(is(MsgType.Facility, 8), 'the Facility');
  const s = summarizeCall(fac);
  t.equal(s.alternativeAddress, `${WK}:1720`, 'the address the caller dialled, not the one beyond the connector');
  t.same(s.alternativeAliases, [{ type: 'dialledDigits', value: '8002' }], 'the aliases stay');
  t.equal(s.facilityReason, 'callForwarded');
  await c.wait(is(MsgType.Alerting, 8), 'Alerting');
  t.equal(w.h323.activeCalls, 1);
  t.equal(srv.conns.length, 1);
  await waitFor('the outcome written', () => w.store.outcomes(10).some((o) => o.event === 'local'));
  t.equal(w.store.outcomes(10).find((o) => o.event === 'local')!.net, 'p4:198.51.100.0/24', 'the decision saw the client address from the PROXY header');
});

t.test('the server hangs up: Release Complete to the caller, who is then disconnected', async (t) => {
  await mcu(t, '127.0.6.12', { holdMs: 100 });
  await worker(t, '  - { name: m, pop: t, address: 127.0.6.12, sipPort: 0, h323Port: 1720 }');
  const c = await caller(t, '127.0.6.102');
  c.send(setupFor({ callReference: 9 }));
  await c.wait(is(MsgType.Connect, 9), 'Connect');
  const rc = await c.wait(is(MsgType.ReleaseComplete, 9), 'the MCU\'s release');
  t.equal(summarizeCall(rc).cause, 16);
  await c.waitClosed();
  t.equal(metric(await metrics(), 'vcp_h323_calls'), 0);
});

t.test('failover: refused, a resource release and silence move the call on; the fourth server answers', async (t) => {
  const busy = await server(t, '127.0.6.14', (m, c) => {
    if (m.q931.type === MsgType.Setup) c.send(buildReleaseFor(m, 'gatewayResources', 47));
  });
  const silent = await server(t, '127.0.6.15', () => undefined);
  const live = await mcu(t, '127.0.6.16');
  await worker(t, [
    '  - { name: a-refused, pop: t, address: 127.0.6.13, sipPort: 0, h323Port: 1720 }',
    '  - { name: b-busy, pop: t, address: 127.0.6.14, sipPort: 0, h323Port: 1720 }',
    '  - { name: c-silent, pop: t, address: 127.0.6.15, sipPort: 0, h323Port: 1720 }',
    '  - { name: d-live, pop: t, address: 127.0.6.16, sipPort: 0, h323Port: 1720 }',
    '  - { name: e-sip-only, pop: t, address: 127.0.6.17, sipPort: 5060, h323Port: 0 }',
  ].join('\n'), '', 'connectTimeoutMs: 5000, setupTimeoutMs: 1500');
  const c = await caller(t, '127.0.6.103');
  const setup = setupFor({ callReference: 10 });
  c.send(setup);
  await c.wait(is(MsgType.Connect, 10), 'Connect from the fourth server');
  t.equal(live.arrivals(guidToString(setupOf(setup)!.callIdentifier!.guid)), 1, 'the call arrived at the live MCU with its call identifier');
  t.equal(busy.all().filter(is(MsgType.Setup)).length, 1);
  const toSilent = await silent.wait(is(MsgType.ReleaseComplete), 'a release for the silent server');
  t.equal(summarizeCall(toSilent).cause, 102, 'the silent server is told the timer expired');
  t.same(c.received.map((x) => x.q931.type), [MsgType.CallProceeding, MsgType.Alerting, MsgType.Connect], 'only the answering server\'s messages reached the caller');
  const m = await metrics();
  t.equal(metric(m, 'vcp_h323_backend_failovers_total'), 3);
  t.equal(metric(m, 'vcp_decision_outcomes_total', { technique: 'local', outcome: 'failure' }), 3, 'three failures taught to the learning');
  t.equal(metric(m, 'vcp_decision_outcomes_total', { technique: 'local', outcome: 'success' }), 1);
});

t.test('every server failing: Release Complete to the caller, cause 102 when the last one timed out', async (t) => {
  await server(t, '127.0.6.15', () => undefined);
  await worker(t, ['  - { name: a-refused, pop: t, address: 127.0.6.13, sipPort: 0, h323Port: 1720 }', '  - { name: c-silent, pop: t, address: 127.0.6.15, sipPort: 0, h323Port: 1720 }'].join('\n'), '', 'connectTimeoutMs: 5000, setupTimeoutMs: 500');
  const c = await caller(t, '127.0.6.104');
  c.send(setupFor({ callReference: 11 }));
  const rc = await c.wait(is(MsgType.ReleaseComplete, 11), 'the release when every server failed');
  t.match(summarizeCall(rc), { cause: 102, releaseReason: 'unreachableDestination' });
  t.equal(metric(await metrics(), 'vcp_h323_calls_total', { outcome: 'failed' }), 1);
  await c.waitClosed();
});

t.test('a refusing server only: Release Complete cause 34', async (t) => {
  await worker(t, '  - { name: a-refused, pop: t, address: 127.0.6.13, sipPort: 0, h323Port: 1720 }');
  const c = await caller(t, '127.0.6.104');
  c.send(setupFor({ callReference: 12 }));
  t.match(summarizeCall(await c.wait(is(MsgType.ReleaseComplete, 12), 'the release')), { cause: 34, releaseReason: 'gatewayResources' });
});

t.test('two calls on one connection are kept apart; releasing one leaves the other', async (t) => {
  const srv = await server(t, '127.0.6.18', answering);
  await worker(t, '  - { name: m, pop: t, address: 127.0.6.18, sipPort: 0, h323Port: 1720 }');
  const c = await caller(t, '127.0.6.105');
  const one = setupFor({ callReference: 21 });
  const two = setupFor({ callReference: 22 });
  c.send(one);
  c.send(two);
  await c.wait(is(MsgType.Connect, 21), 'Connect 21');
  await c.wait(is(MsgType.Connect, 22), 'Connect 22');
  t.equal(srv.conns.length, 2, 'each call has its own server connection');
  c.send(buildReleaseComplete({ callReference: 21, fromDestination: false }));
  await waitFor('one server connection closed', () => srv.conns.filter((x) => x.closed).length === 1);
  t.notOk(c.closed, 'the caller connection stays for the other call');
  const open = srv.conns.find((x) => !x.closed)!;
  t.equal(open.received[0]!.q931.callReference, 22);
  c.send(buildReleaseComplete({ callReference: 22, fromDestination: false }));
  await open.wait(is(MsgType.ReleaseComplete, 22), 'the second release');
  await c.waitClosed();
});

t.test('forward: Facility callForwarded with the arrival point, the dialled digits and the identifiers; then a clean release', async (t) => {
  const m = await mcu(t, '127.0.6.19');
  // Two redirects of the class may await their arrival at once (the first caller never follows).
  await worker(t, '  - { name: m, pop: t, address: 127.0.6.19, sipPort: 0, h323Port: 1720 }', 'techniques: { classes: { "h323/lifesize": redirect } }\nlearning: { probationLimit: 2 }');
  const c = await caller(t, '127.0.6.106');
  const setup = setupFor({ callReference: 30, identity: IDENTITIES.lifesize, destinationAliases: [h323Id('meeting-room')], calledNumber: '8030' });
  c.send(setup);
  const fac = await c.wait(is(MsgType.Facility, 30), 'the Facility');
  const s = summarizeCall(fac);
  const sent = setupOf(setup)!;
  t.match(s, {
    fromDestination: true,
    facilityReason: 'callForwarded',
    alternativeAddress: `${CONN}:${PORT}`,
    alternativeAliases: [{ type: 'dialledDigits', value: '8030' }],
    callIdentifier: guidToString(sent.callIdentifier!.guid),
    conferenceID: guidToString(sent.conferenceID),
  });
  // The caller does not release: the connector does, and closes.
  const rc = await c.wait(is(MsgType.ReleaseComplete, 30), 'the connector\'s release');
  t.equal(summarizeCall(rc).releaseReason, 'facilityCallDeflection');
  await c.waitClosed();
  t.equal(m.stats.setups, 0, 'nothing reached the MCU');

  // A room system that follows it arrives with its call identifier and is carried to the MCU.
  const ep = new H323Endpoint({ host: CONN, port: PORT, localAddress: '127.0.6.107', identity: IDENTITIES.lifesize, destinationAliases: [h323Id('room')], calledNumber: '8031', onForward: 'follow' });
  t.teardown(() => ep.close());
  const r = await ep.call();
  t.match(r, { ok: true, outcome: 'connected', forwardedTo: [`${CONN}:${PORT}`] });
  t.equal(m.arrivals(r.callIdentifier), 1, 'the MCU saw the call identifier');
  await waitFor('arrival learned', async () => metric(await metrics(), 'vcp_decision_outcomes_total', { technique: 'redirect', outcome: 'arrived' }) === 1);
  const text = await metrics();
  t.equal(metric(text, 'vcp_h323_calls_total', { technique: 'redirect', outcome: 'redirected' }), 2);
  t.equal(metric(text, 'vcp_h323_calls_total', { technique: 'local', outcome: 'connected' }), 1, 'the arrival was carried to the server');
});

t.test('a join page link dialled by a room system (meeting+token+server) is the arrival of that link', async (t) => {
  const m = await mcu(t, '127.0.6.15');
  const w = await worker(t, '  - { name: join-mcu, pop: t, address: 127.0.6.15, h323Port: 1720, probe: none }\n  - { name: other, pop: t, address: 127.0.6.16, h323Port: 1720, probe: none }');
  // What the join page does for an H.323 client: decide, then issue a token of the URI technique.
  const ctx = w.engine.decide({ protocol: 'h323', callId: 'page', identity: { protocol: 'h323', vendor: '', product: '', version: '' }, source: '127.0.6.120', domain: '', meeting: 'board' }, [], true);
  const token = w.engine.redirected(ctx, 'join-mcu', undefined, { technique: 'uri' });
  await w.engine.written();
  const ep = new H323Endpoint({ host: CONN, port: PORT, localAddress: '127.0.6.120', identity: IDENTITIES.polycom, destinationAliases: [h323Id(`board+${token}+join-mcu`)] });
  t.teardown(() => ep.close());
  const r = await ep.call();
  t.ok(r.ok, 'the call connected');
  t.equal(m.stats.setups, 1, 'at the server the link named');
  await waitFor('the link closed as arrived', async () => metric(await metrics(), 'vcp_decision_outcomes_total', { technique: 'uri', outcome: 'arrived' }) === 1);
  t.equal(w.store.redirect(token)?.state, 'arrived');
});

t.test('learning: ignored and dropped redirects are missed; after breakAfter misses from minSources callers the class is proxied', async (t) => {
  const m = await mcu(t, '127.0.6.20');
  await worker(
    t,
    '  - { name: m, pop: t, address: 127.0.6.20, sipPort: 0, h323Port: 1720 }',
    `techniques: { classes: { "h323/lifesize": redirect, "h323/polycom": redirect } }
learning: { breakAfter: 2, minSources: 2, redirectDeadlineMs: 2500, arrivalGraceMs: 0 }`,
  );
  const base = { host: CONN, port: PORT, destinationAliases: [dialledDigits('8040')], calledNumber: '8040', timeoutMs: 2000 };
  // A room system of another class follows a redirect first, so that this network is known to reach
  // the POP: a miss is then the fault of the class that did not follow.
  const prime = new H323Endpoint({ ...base, localAddress: '127.0.6.110' });
  t.teardown(() => prime.close());
  t.match(await prime.call(), { ok: true, forwardedTo: [`${CONN}:${PORT}`] });
  const ignore = new H323Endpoint({ ...base, localAddress: '127.0.6.111', identity: IDENTITIES.lifesize, onForward: 'ignore' });
  t.teardown(() => ignore.close());
  const ri = await ignore.call();
  t.match(ri, { ok: false, forward: 'ignored' }, `the caller ignored the Facility: ${JSON.stringify(ri)}`);
  // While a redirect of a class not yet proven awaits its arrival, the class is not redirected again (probation).
  await waitFor('the first redirect missed', async () => metric(await metrics(), 'vcp_redirect_misses_total', { cause: 'client' }) === 1);
  const drop = new H323Endpoint({ ...base, localAddress: '127.0.6.112', identity: IDENTITIES.lifesize, onForward: 'drop' });
  t.teardown(() => drop.close());
  t.match(await drop.call(), { ok: false, outcome: 'dropped' });
  await waitFor('the second redirect missed', async () => metric(await metrics(), 'vcp_redirect_misses_total', { cause: 'client' }) === 2);
  t.equal(m.arrivals(ri.callIdentifier), 0);
  const after = new H323Endpoint({ ...base, localAddress: '127.0.6.113', identity: IDENTITIES.lifesize, onForward: 'ignore' });
  t.teardown(() => after.close());
  const r = await after.call();
  t.match(r, { ok: true, outcome: 'connected', forwardedTo: [] }, 'the class is proxied now');
  const text = await metrics();
  t.equal(metric(text, 'vcp_h323_calls_total', { technique: 'redirect' }), 3, 'no redirect after the two misses');
  t.equal(metric(text, 'vcp_h323_calls_total', { technique: 'local', outcome: 'connected' }), 2, 'the arrival and the last call');
});

/** Q.931 bytes of `m` with its User-user IE replaced by PER that does not decode. */
function brokenUserUser(m: H323Message): Buffer {
  const q = { ...m.q931, ies: [...m.q931.ies.filter((e) => e.id !== 0x7e), { id: 0x7e, data: Buffer.from('05ffffffff', 'hex') }] };
  return tpkt(encodeH323({ q931: q, uu: undefined }));
}

t.test('bad input: a malformed message ends its call only; a broken stream ends its connection only', async (t) => {
  const srv = await server(t, '127.0.6.21', answering);
  await worker(t, '  - { name: m, pop: t, address: 127.0.6.21, sipPort: 0, h323Port: 1720 }');

  // A Setup whose PER does not decode: Release Complete for it, and the connection (with no other call) goes.
  const a = await caller(t, '127.0.6.120');
  a.write(brokenUserUser(setupFor({ callReference: 40 })));
  const rc = await a.wait(is(MsgType.ReleaseComplete, 40), 'a release for the malformed Setup');
  t.match(summarizeCall(rc), { cause: 100, fromDestination: true });
  await a.waitClosed();

  // Two calls on one connection, one on another; call 41 gets a malformed Facility.
  const b = await caller(t, '127.0.6.121');
  const c = await caller(t, '127.0.6.122');
  b.send(setupFor({ callReference: 41 }));
  b.send(setupFor({ callReference: 42 }));
  c.send(setupFor({ callReference: 43 }));
  await b.wait(is(MsgType.Connect, 41), 'Connect 41');
  await b.wait(is(MsgType.Connect, 42), 'Connect 42');
  await c.wait(is(MsgType.Connect, 43), 'Connect 43');
  const fac = buildReleaseFor(setupFor({ callReference: 41 }));
  fac.q931 = { ...fac.q931, type: MsgType.Facility, fromDestination: false };
  b.write(brokenUserUser(fac));
  const rc41 = await b.wait(is(MsgType.ReleaseComplete, 41), 'call 41 released');
  t.equal(summarizeCall(rc41).cause, 100);
  await srv.wait((m) => m.q931.type === MsgType.ReleaseComplete && m.q931.callReference === 41, 'call 41 released at its server');
  t.notOk(b.closed, 'the connection stays for call 42');
  // A message for a call reference not in use is answered with cause 81.
  const enquiry = buildReleaseComplete({ callReference: 99, fromDestination: false });
  enquiry.q931 = { ...enquiry.q931, type: MsgType.StatusEnquiry };
  b.send(enquiry);
  t.equal(summarizeCall(await b.wait(is(MsgType.ReleaseComplete, 99), 'cause 81')).cause, 81);

  // Garbage where a TPKT header should be: every call of that connection is released, the other connection is untouched.
  b.write(Buffer.from('0400000a0000000000000000', 'hex'));
  await b.wait(is(MsgType.ReleaseComplete, 42), 'call 42 released');
  await b.waitClosed();
  await srv.wait((m) => m.q931.type === MsgType.ReleaseComplete && m.q931.callReference === 42, 'call 42 released at its server');
  t.notOk(c.closed, 'the other caller still holds its call');
  c.send(buildReleaseComplete({ callReference: 43, fromDestination: false }));
  await srv.wait((m) => m.q931.type === MsgType.ReleaseComplete && m.q931.callReference === 43, 'call 43 ended normally');
  t.notOk(c.received.some(is(MsgType.ReleaseComplete, 43)), 'call 43 was never released by the connector');

  // A TPKT over the limit is refused from its header; a slow sender is cut off; a bad PROXY header closes.
  const big = await caller(t, '127.0.6.123');
  big.write(Buffer.from([3, 0, 0x10, 0x00]));
  await big.waitClosed();
  const slow = await caller(t, '127.0.6.124');
  slow.write(Buffer.from([3, 0, 0, 0x40, 8, 2]));
  const meanwhile = await caller(t, '127.0.6.125');
  meanwhile.send(setupFor({ callReference: 44 }));
  await meanwhile.wait(is(MsgType.Connect, 44), 'a call while the slow sender dawdles');
  await slow.waitClosed();
  const garbled = await caller(t, '127.0.6.126', PROXIED, Buffer.from('GET / HTTP/1.0\r\n\r\n'));
  await garbled.waitClosed();
  const m = await metrics();
  t.equal(metric(m, 'vcp_h323_rejected_total', { reason: 'malformed' }), 1);
  t.equal(metric(m, 'vcp_h323_call_ends_total', { reason: 'malformed' }), 2, 'calls 41 and 42 ended for bad input');
  t.equal(metric(m, 'vcp_h323_call_ends_total', { reason: 'caller' }), 1, 'call 43 ended by its caller');
  t.equal(metric(m, 'vcp_h323_dropped_total', { reason: 'too_large' }), 1);
  t.equal(metric(m, 'vcp_h323_dropped_total', { reason: 'slow_sender' }), 1);
  t.equal(metric(m, 'vcp_h323_dropped_total', { reason: 'proxy_header' }), 1);
  t.equal(metric(m, 'vcp_h323_dropped_total', { reason: 'unknown_call' }), 1);
});

t.test('bad input from a server: a message that does not decode moves the call to the next server', async (t) => {
  const bad = await server(t, '127.0.6.22', (m, c) => {
    if (m.q931.type === MsgType.Setup) c.write(tpkt(Buffer.from('0902000101', 'hex')));
  });
  await mcu(t, '127.0.6.23');
  await worker(t, ['  - { name: a-bad, pop: t, address: 127.0.6.22, sipPort: 0, h323Port: 1720 }', '  - { name: b-good, pop: t, address: 127.0.6.23, sipPort: 0, h323Port: 1720 }'].join('\n'));
  const c = await caller(t, '127.0.6.127');
  c.send(setupFor({ callReference: 50 }));
  await c.wait(is(MsgType.Connect, 50), 'Connect from the second server');
  await bad.conns[0]!.waitClosed();
  t.equal(metric(await metrics(), 'vcp_h323_dropped_total', { reason: 'server_malformed' }), 1);
});
