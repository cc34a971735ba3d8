import t from 'tap';
import { dirname, join } from 'node:path';
import { h323Id } from '../../layer2/h323/h225.js';
import { ProfileStore } from '../../layer2/profiles/store.js';
import { formatJoinAlias } from '../../layer2/route/formats.js';
import { TokenSigner } from '../../layer2/route/tokens.js';
import type { SipResponse } from '../../layer2/sip/message.js';
import { H323Endpoint } from '../../scripts/sim/h323-endpoint.js';
import { H323Mcu } from '../../scripts/sim/h323-mcu.js';
import { SipUas } from '../../scripts/sim/sip-uas.js';
import { request, SipPeer } from '../helpers/sip-peer.js';
import { waitFor } from '../helpers/procs.js';
import { metric, startStack, type Stack } from '../helpers/stack.js';

// Tokens only the deployment can mint. Two POPs on loopback (connector ca on 127.0.131.2 in POP a,
// cb on .3 in POP b; servers a-1 .10 and b-1 .11, each a SIP UAS and an H.323 MCU). An attacker
// (127.0.132.0/24, no geo: decided at the POP it calls) presents tokens at cb's SIP, H.323 and web
// ports: garbage, a key of its own, a genuine token changed to name another server, an expired one,
// one for another client class. Each must be ignored — the call decided normally, nothing learned,
// nothing written to the profile store. A token under the previous key of a rotation still works.

const KEY = 'hostile-test-token-key-of-the-whole-deployment';
const OLD = 'hostile-test-previous-token-key-still-in-grace';
const YAML = `
pop: a
wellKnown: { address: 127.0.131.1 }
pops: [ { name: a, web: "http://127.0.131.2:18580" }, { name: b, web: "http://127.0.131.3:18580" } ]
connectors:
  - { name: ca, pop: a, address: 127.0.131.2, workers: 1, ports: { sip: 25060, h323: 21720, health: 18080 } }
  - { name: cb, pop: b, address: 127.0.131.3, workers: 1, ports: { sip: 25060, h323: 21720, health: 18080 } }
servers:
  - { name: a-1, pop: a, address: 127.0.131.10, sipPort: 5060, h323Port: 1720, probe: none }
  - { name: b-1, pop: b, address: 127.0.131.11, sipPort: 5060, h323Port: 1720, probe: none }
tokens: { key: ${KEY}, previousKey: ${OLD}, previousUntil: "2999-01-01T00:00:00Z" }
profiles: { path: profiles }
admin: { port: 9580, token: "hostile-admin-token-0123456789" }
web: { port: 18580 }
meetings: [ { name: board } ]
# The attacker sends its tokens faster than the flood guard allows: off here, the tokens are what is tested.
limits: { flood: { requestsPerSecond: 0 } }
`;
const CB = { address: '127.0.131.3', port: 25060 };
const UA = 'Polycom HDX 8000 HD (Release - 3.1.2)';
const CLASS = 'sip/polycom/hdx 8000 hd/3.1.2';

let stack: Stack;
const uas = ['127.0.131.10', '127.0.131.11'].map((address) => new SipUas({ address, port: 5060 }));
const mcus = ['127.0.131.10', '127.0.131.11'].map((address) => new H323Mcu({ address, port: 1720 }));
let store: ProfileStore;

t.before(async () => {
  for (const u of uas) await u.start();
  for (const m of mcus) await m.start();
  stack = await startStack(YAML, { layer1: false });
  store = ProfileStore.open(join(dirname(stack.file), 'profiles'), { origin: 'test/hostile' });
});
t.teardown(async () => {
  await store?.close();
  await stack?.stop();
  await Promise.all([...uas.map((u) => u.close()), ...mcus.map((m) => m.close())]);
});

const real = new TokenSigner([{ secret: Buffer.from(KEY), until: Infinity }]);
const now = Date.now();
const valid = real.mint({ server: 'a-1', cls: CLASS, expires: now + 3_600_000, technique: 'redirect' }).token;
const changed = ((): string => {
  // A genuine token whose server name an attacker changed from a-1 to b-1.
  const b = Buffer.from(valid, 'base64url');
  b.write('b-1', 20, 'latin1');
  return b.toString('base64url');
})();
const FORGED: Array<[string, string, string]> = [
  ['garbage', 'x'.repeat(60), 'malformed'],
  ['a key of its own', new TokenSigner([{ secret: Buffer.from('attacker-key-attacker-key-attacker'), until: Infinity }]).mint({ server: 'a-1', cls: CLASS, expires: now + 3_600_000, technique: 'redirect' }).token, 'unknown_key'],
  ['another server under the MAC', changed, 'bad_mac'],
  ['expired', real.mint({ server: 'a-1', cls: CLASS, expires: now - 60_000, technique: 'redirect' }).token, 'expired'],
  ['another client class', real.mint({ server: 'a-1', cls: 'sip/cisco', expires: now + 3_600_000, technique: 'redirect' }).token, 'other_class'],
];

const workerMetrics = (): Promise<string> => stack.workerMetrics('cb/0');
const written = (): { records: number; outcomes: number } => ({ records: store.count('redirect'), outcomes: store.outcomes(100_000).length });

t.test('SIP: a forged, changed, expired or foreign token is ignored: decided normally at the POP called, nothing written or learned', async (t) => {
  const before = written();
  const p = await SipPeer.open('127.0.132.1');
  t.teardown(() => p.close());
  let n = 0;
  for (const [what, token, reason] of FORGED) {
    const callId = `tok-${++n}`;
    const refused = metric(await workerMetrics(), 'vcp_route_tokens_refused_total', { reason });
    p.send(request('INVITE', p, CB, { callId, ua: UA, uri: `sip:board@${CB.address}:${CB.port};vcp-token=${token}` }), CB.port, CB.address);
    const ok = (await p.wait((m) => m.callId === callId && (m as SipResponse).status >= 200, undefined, what)) as SipResponse;
    t.equal(ok.status, 200, `${what}: the call completes`);
    t.equal(metric(await workerMetrics(), 'vcp_route_tokens_refused_total', { reason }), refused + 1, `${what}: refused as ${reason}`);
  }
  t.equal(uas[0]!.stats.invites, 0, 'no call was steered to a-1 (the server the tokens named)');
  t.equal(uas[1]!.stats.invites, FORGED.length, 'each was decided: b-1, the server of the POP called');
  t.equal(metric(await workerMetrics(), 'vcp_route_arrivals_total'), 0, 'no arrival');
  // A flood of them: still nothing written for any token.
  const flood = 50;
  const refusedBefore = metric(await workerMetrics(), 'vcp_route_tokens_refused_total');
  for (let i = 0; i < flood; i++) p.send(request('INVITE', p, CB, { callId: `flood-${i}`, ua: UA, uri: `sip:board@${CB.address}:${CB.port};vcp-token=${FORGED[i % FORGED.length]![1]}` }), CB.port, CB.address);
  await waitFor(`${flood} more refused`, async () => metric(await workerMetrics(), 'vcp_route_tokens_refused_total') === refusedBefore + flood);
  await waitFor('every call of the flood answered', () => new Set(p.received.filter((m) => m.callId.startsWith('flood-') && (m as SipResponse).status === 200).map((m) => m.callId)).size === flood);
  const after = written();
  t.equal(after.records, before.records, 'no redirect record was created or closed');
  t.ok(after.outcomes - before.outcomes <= FORGED.length + flood, 'the outcome log holds at most the calls carried (one source teaches only so much a minute)');
  t.notOk(store.classProfile(CLASS)?.t.redirect, 'no redirect success or failure taught to the class');
  t.notOk(store.outcomes(100_000).some((o) => o.event === 'arrival'), 'no arrival logged');
});

t.test('SIP: a genuine token, also one under the previous key of a rotation, is an arrival at the server it names', async (t) => {
  const p = await SipPeer.open('127.0.132.2');
  t.teardown(() => p.close());
  const old = new TokenSigner([{ secret: Buffer.from(OLD), until: Infinity }]).mint({ server: 'a-1', cls: CLASS, expires: Date.now() + 3_600_000, technique: 'redirect' }).token;
  for (const [callId, token] of [['genuine', valid], ['rotated', old]] as const) {
    p.send(request('INVITE', p, CB, { callId, ua: UA, uri: `sip:board@${CB.address}:${CB.port};vcp-token=${token}` }), CB.port, CB.address);
    t.equal(((await p.wait((m) => m.callId === callId && (m as SipResponse).status >= 200)) as SipResponse).status, 200, `${callId}: completed`);
  }
  t.equal(uas[0]!.stats.invites, 2, 'carried to a-1, the server the tokens name');
  t.equal(metric(await workerMetrics(), 'vcp_route_arrivals_total', { match: 'token' }), 2);
  // Each arrival is written (its record closed, its log line) in one transaction, after the call: the
  // next tests count records from here.
  await waitFor('both arrivals in the store', () => store.outcomes(100_000).filter((o) => o.event === 'arrival').length === 2);
});

t.test('H.323: a join alias with a forged token is an ordinary call, decided normally', async (t) => {
  const refused = metric(await workerMetrics(), 'vcp_route_tokens_refused_total');
  const before = written();
  for (const [what, token] of FORGED.slice(1, 3)) {
    const ep = new H323Endpoint({ host: CB.address, port: 21720, localAddress: '127.0.132.3', destinationAliases: [h323Id(formatJoinAlias('board', token))] });
    try {
      const r = await ep.call();
      t.ok(r.ok, `${what}: connected`);
    } finally {
      ep.close();
    }
  }
  t.equal(mcus[0]!.stats.setups, 0, 'never at a-1');
  t.equal(mcus[1]!.stats.setups, 2, 'at b-1, as decided');
  t.equal(metric(await workerMetrics(), 'vcp_route_tokens_refused_total') - refused, 2);
  t.equal(written().records, before.records);
});

t.test('HTTP: a forged token in the query is ignored: the page is decided normally', async (t) => {
  const adminMetrics = async (): Promise<string> => (await fetch('http://127.0.131.3:9580/metrics')).text();
  const refused = metric(await adminMetrics(), 'vcp_route_tokens_refused_total');
  const before = written();
  for (const [, token] of FORGED) {
    const res = await fetch(`http://127.0.131.3:18580/meet/board?vcp-token=${token}`, { redirect: 'manual' });
    t.equal(res.status, 200);
    t.match(await res.text(), /id="joined" data-server="b-1" data-pop="b"/, 'served where it was asked: the decision for this browser');
  }
  t.equal(metric(await adminMetrics(), 'vcp_route_tokens_refused_total') - refused, FORGED.length);
  t.equal(written().records, before.records, 'nothing written');
});
