import t from 'tap';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { NatsCluster, localCluster } from '../../scripts/nats-cluster.js';
import { ProfileStore } from '../../layer2/profiles/store.js';
import { screen } from '../../layer2/replication/screen.js';
import { MAX_EVENT_BYTES } from '../../layer2/profiles/events.js';
import { SipPeer, answer, isStatus, request } from '../helpers/sip-peer.js';
import { httpGet, node, requireTool, tempDir, waitFor, writeFile, type Proc } from '../helpers/procs.js';
import { metric } from '../helpers/stack.js';

// Poisoning the profiles: a caller whose User-Agent makes an event the other POPs would refuse, a
// refused event that would hold every later one in wait, a caller whose calls fail on purpose to
// keep servers out of the decisions. Connector ca (POP a) on 127.0.47.2; cb is another POP's host,
// played by this test on the stream. NATS on 127.0.47.10.
const NATS = 'nats://127.0.47.10:4222';
const CA = '127.0.47.2';
const PREFIX = 'hostile.profiles';

let cluster: NatsCluster;
let nc: NatsConnection;
let js: JetStreamClient;
let connector: Proc;
let profiles: string;

t.before(async () => {
  requireTool('nats-server');
  cluster = new NatsCluster(localCluster({ nodes: 1, address: '127.0.47.10', dir: join(tempDir('nats'), 'nats') }));
  await cluster.start();
  const dir = tempDir('poison');
  profiles = join(dir, 'store');
  // Only ca runs; cb is in the configuration as the other POP's host, whose events this test publishes.
  const file = writeFile(dir, 'config.yaml', `
pop: a
wellKnown: { address: 127.0.47.1, sip: 5060 }
pops: [ { name: a }, { name: b } ]
connectors:
  - { name: ca, pop: a, address: ${CA}, workers: 1, ports: { sip: 25060, health: 18080 } }
  - { name: cb, pop: b, address: 127.0.47.3, workers: 1, ports: { sip: 25060, health: 18080 } }
servers:
  - { name: bad, pop: a, address: 127.0.47.20, sipPort: 5060, probe: none }
profiles: { path: ${profiles} }
admin: { port: 9300 }
serverHealth: { suspectMs: 1 }
replication: { servers: [${NATS}], stream: VCP_HOSTILE, subjectPrefix: ${PREFIX}, ackWaitMs: 2000 }
`);
  connector = node('layer2/main.js', ['--config', file, '--connector', 'ca']);
  await waitFor('ca', async () => (await httpGet(`http://${CA}:18080/health`)).status === 200 && (await httpGet(`http://${CA}:9300/health`)).status === 200, 30_000);
  nc = await connect({ servers: NATS });
  js = jetstream(nc);
  await waitFor('the stream', async () => (await (await jetstreamManager(nc)).streams.info('VCP_HOSTILE')).config.name === 'VCP_HOSTILE', 30_000);
});
t.teardown(async () => {
  await nc?.close();
  await connector?.stop();
  await cluster?.stop();
});

t.test('a 256-character User-Agent: what the connector queues for the other POPs passes their screen', async (t) => {
  const backend = await SipPeer.open('127.0.47.20', 5060);
  t.teardown(() => backend.close());
  backend.onRequest = (req, reply) => {
    if (req.method === 'INVITE') reply(answer(req, 200, 'OK'));
  };
  const caller = await SipPeer.open('127.0.47.50');
  t.teardown(() => caller.close());
  const ua = `Poly${'x'.repeat(120)}/${'7'.repeat(131)}`;
  t.equal(ua.length, 256);
  caller.send(request('INVITE', caller, { address: CA, port: 25060 }, { callId: 'long-ua@test', ua }), 25060, CA);
  await caller.wait(isStatus(200, 'INVITE'), 10_000, 'the 200');
  // Read the stream as POP b would, and screen every event of ca as b's applier does.
  const consumer = await js.consumers.get('VCP_HOSTILE');
  const seen: string[] = [];
  await waitFor('ca\'s events on the stream', async () => {
    const m = await consumer.next({ expires: 1000 });
    if (m) {
      const s = screen(m.subject, m.data, { subjectPrefix: PREFIX, ownHost: 'cb', knownHosts: new Set(['ca', 'cb']), maxBytes: MAX_EVENT_BYTES }, m.headers?.get('Nats-Msg-Id') ?? '');
      seen.push(s.kind === 'rejected' ? `rejected: ${s.detail}` : s.kind);
      // The class keys the caller's User-Agent gave (capped parts: each a few hundred characters at most).
      if (s.kind === 'event' && s.event.ops.some((o) => o.o === 'cls' && o.key.startsWith('sip/') && o.key.includes('xxxxxxxxxx'))) return true;
    }
    return false;
  }, 30_000).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; seen: ${seen.join(', ')}`);
  });
  t.notOk(seen.some((s) => s.startsWith('rejected')), `no event of ca is rejected by b's screen (${seen.join(', ')})`);
  t.equal(metric((await httpGet(`http://${CA}:18080/metrics`)).body, 'vcp_profile_screened_total'), 0, 'and ca had nothing to hold back: class keys are short whatever the User-Agent');
});

t.test('a refused event is counted as applied: no hole holds the later events in wait', async (t) => {
  const event = (seq: number): string => JSON.stringify({ origin: 'cb/0', seq, at: Date.now(), ops: [{ o: 'cls', key: 'sip/hostile', t: 'proxy', ok: true, ms: 5, src: 'x', at: Date.now() }] });
  await js.publish(`${PREFIX}.cb.0`, 'this is not an event', { msgID: 'cb/0:1' });
  await js.publish(`${PREFIX}.cb.0`, JSON.stringify({ origin: 'cb/0', seq: 2, at: Date.now(), ops: [{ o: 'cls', key: 'k'.repeat(600), t: 'proxy', ok: true, ms: 1, src: 'x', at: 1 }] }), { msgID: 'cb/0:2' });
  for (const seq of [3, 4, 5]) await js.publish(`${PREFIX}.cb.0`, event(seq), { msgID: `cb/0:${seq}` });
  const admin = async (): Promise<string> => (await httpGet(`http://${CA}:9300/metrics`)).body;
  await waitFor('the later events applied', async () => metric(await admin(), 'vcp_replication_received_total', { result: 'applied' }) >= 3, 30_000);
  const m = await admin();
  t.equal(metric(m, 'vcp_replication_received_total', { result: 'skipped' }), 2, 'the garbage and the event with an oversized key: refused, their numbers counted');
  t.equal(metric(m, 'vcp_replication_rejected_total'), 2);
  await waitFor('no gap left for cb/0', async () => metric(await admin(), 'vcp_replication_seq_gap', { origin: 'cb/0' }) === 0, 30_000);
  const store = ProfileStore.open(profiles, { origin: 'test/reader' });
  t.teardown(() => store.close());
  t.equal(store.appliedUpTo('cb/0'), 5, 'applied up to 5 without a hole');
  t.equal(store.classProfile('sip/hostile')?.t.proxy?.s, 3, 'the three good events counted once each');
});

t.test('one caller\'s failed calls make a server suspect a few times a minute, not on every call', async (t) => {
  const backend = await SipPeer.open('127.0.47.20', 5060);
  t.teardown(() => backend.close());
  backend.onRequest = (req, reply) => {
    if (req.method === 'INVITE') reply(answer(req, 500, 'Server Internal Error'));
  };
  const worker = async (): Promise<string> => (await httpGet(`http://${CA}:18080/metrics`)).body;
  const before = metric(await worker(), 'vcp_passive_health_limited_total');
  const caller = await SipPeer.open('127.0.47.66');
  t.teardown(() => caller.close());
  for (let i = 0; i < 6; i++) {
    caller.send(request('INVITE', caller, { address: CA, port: 25060 }, { callId: `fail-${i}@test` }), 25060, CA);
    await caller.wait((m) => m.kind === 'response' && m.status === 500 && m.callId === `fail-${i}@test`, 10_000, `the 500 of call ${i}`);
  }
  await waitFor('counted', async () => metric(await worker(), 'vcp_passive_health_limited_total') - before === 3, 10_000);
  t.pass('three failures of the source marked the server suspect (suspectPerSourcePerMinute), the other three were only counted');
  const other = await SipPeer.open('127.0.47.67');
  t.teardown(() => other.close());
  other.send(request('INVITE', other, { address: CA, port: 25060 }, { callId: 'other@test' }), 25060, CA);
  await other.wait((m) => m.kind === 'response' && m.status === 500, 10_000, 'the 500');
  t.equal(metric(await worker(), 'vcp_passive_health_limited_total') - before, 3, 'another caller\'s failure counts in its own bound');
});
