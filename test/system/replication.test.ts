import t from 'tap';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { NatsCluster, localCluster } from '../../scripts/nats-cluster.js';
import { ProfileStore } from '../../layer2/profiles/store.js';
import type { ProfileEvent } from '../../layer2/profiles/events.js';
import { Replicator } from '../../layer2/replication/replicator.js';
import { parseConfig } from '../../shared/config/load.js';
import { requireBuild, requireTool, waitFor } from '../helpers/procs.js';
import { PopHosts, countersOf, expectedCounters, metric, pick, writeEvents, type Host } from '../helpers/pop-hosts.js';

// Profile replication between POPs through a real 3-node NATS JetStream cluster (nats-server),
// NATS on 127.0.11.1-3, connectors on 127.0.14.2-3.
const NATS = ['nats://127.0.11.1:4222', 'nats://127.0.11.2:4222', 'nats://127.0.11.3:4222'];
let cluster: NatsCluster;

t.before(async () => {
  requireBuild();
  requireTool('nats-server');
  cluster = new NatsCluster(localCluster({ nodes: 3, address: '127.0.11.1', dir: join(t.testdir(), 'nats') }));
  await cluster.start();
});
t.teardown(() => cluster?.stop());

const event = (origin: string, seq: number, key = 'sip/x'): ProfileEvent => ({ origin, seq, at: Date.now(), ops: [{ o: 'cls', key, t: 'proxy', ok: true, ms: 3, src: 's', at: Date.now() }] });

t.test('garbage and forged events are rejected, counted and logged with their origin; the replicator goes on', async (t) => {
  const dir = t.testdir();
  const config = parseConfig(`
pop: a
wellKnown: { address: 127.0.14.1 }
pops: [{ name: a }, { name: b }]
connectors:
  - { name: ca, pop: a, address: 127.0.14.2, workers: 1, ports: { sip: 25060, health: 18080 } }
  - { name: cb, pop: b, address: 127.0.14.3, workers: 1, ports: { sip: 25060, health: 18080 } }
servers: [{ name: a-1, pop: a, address: 127.0.14.10 }]
replication: { servers: [${NATS[0]}], stream: VCP_GARBAGE, subjectPrefix: garbage.profiles, replicas: 3, ackWaitMs: 2000 }
`, join(dir, 'config.yaml'));
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const store = ProfileStore.open(join(dir, 'profiles'), { origin: 'ca/0', outbox: true });
  const registry = new Registry();
  const rep = new Replicator({ config: config.replication!, host: 'ca', hosts: ['ca', 'cb'], store, log, registry });
  const nc = await connect({ servers: NATS[1] });
  t.teardown(async () => {
    await nc.close();
    await rep.stop();
    await store.close();
  });
  rep.start();
  await waitFor('the replicator connected and its consumer created', () => lines.some((l) => l.msg === 'replication consumer created'));
  const js = jetstream(nc);
  const pub = (subject: string, data: string | Uint8Array, id?: string): Promise<unknown> => js.publish(subject, data, id ? { msgID: id } : {});
  await pub('garbage.profiles.cb.0', JSON.stringify(event('cb/0', 1)));
  await pub('garbage.profiles.cb.0', JSON.stringify(event('cb/0', 2)));
  await pub('garbage.profiles.cb.0', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]));
  await pub('garbage.profiles.cb.0', '{"origin":"cb/0","seq":');
  // Refused by the screen: its number counts as applied (no permanent gap), so it carries one the valid events do not use.
  await pub('garbage.profiles.cb.0', JSON.stringify({ ...event('cb/0', 20), ops: [{ o: 'cls', key: 'sip/x', t: 'teleport', ok: true, ms: 1, src: 's', at: 1 }] }));
  await pub('garbage.profiles.cb.0', JSON.stringify({ ...event('cb/0', 3), seq: -4 }));
  await pub('garbage.profiles.cb.0', JSON.stringify({ ...event('cb/0', 21), ops: [] }));
  await pub('garbage.profiles.zz.0', JSON.stringify(event('zz/0', 1)));
  await pub('garbage.profiles.cb.0', JSON.stringify(event('cb/7', 1)));
  await pub('garbage.profiles.cb.0', JSON.stringify(event('ca/0', 1)));
  await pub('garbage.profiles.ca.0', JSON.stringify(event('ca/0', 999)));
  await pub('garbage.profiles.cb.0', JSON.stringify(event('cb/0', 2)), 'a-new-id-for-the-same-event');
  await pub('garbage.profiles.cb.0', JSON.stringify(event('cb/0', 4)));
  await pub('garbage.profiles.cb.0', JSON.stringify(event('cb/0', 3)));
  await waitFor('the valid events applied', () => store.appliedUpTo('cb/0') === 4);
  await waitFor('every message handled', async () => {
    const m = await registry.metrics();
    return (metric(m, 'vcp_replication_received_total', 'result="own"') ?? 0) >= 1 && (metric(m, 'vcp_replication_received_total', 'result="duplicate"') ?? 0) >= 1;
  });
  const m = await registry.metrics();
  t.equal(metric(m, 'vcp_replication_received_total', 'result="applied"'), 4, 'four valid events applied, the last two out of order');
  t.equal(metric(m, 'vcp_replication_received_total', 'result="duplicate"'), 1, 'a second delivery under another message id is a duplicate');
  t.equal(metric(m, 'vcp_replication_received_total', 'result="own"'), 1, 'an event of this host on its own subject is skipped');
  t.equal(metric(m, 'vcp_replication_rejected_total', 'reason="not-json"'), 2);
  t.equal(metric(m, 'vcp_replication_rejected_total', 'reason="invalid"'), 3);
  t.equal(metric(m, 'vcp_replication_rejected_total', 'reason="unknown-origin"'), 1);
  t.equal(metric(m, 'vcp_replication_rejected_total', 'reason="subject"'), 2, 'another origin on a host\'s subject, this host\'s origin on another\'s');
  t.equal(store.classProfile('sip/x')!.t.proxy!.a, 4, 'the store holds the valid events, once each');
  t.equal(store.appliedUpTo('ca/0'), 0, 'nothing was applied under this host\'s own origin');
  const rejected = lines.filter((l) => l.code === 'VCP_ERR_REPL_REJECTED');
  t.equal(rejected.length, 8, 'one log line per rejected event');
  t.ok(rejected.some((l) => l.origin === 'zz/0' && l.reason === 'unknown-origin'), 'the log names the claimed origin');
  t.ok(rejected.some((l) => l.origin === 'cb/7' && l.reason === 'subject'));
  t.ok(rejected.every((l) => typeof l.origin === 'string' && typeof l.streamSeq === 'number'));

  // The replicator still publishes and applies.
  await store.record(event('x', 0, 'sip/local').ops);
  await waitFor('the local event published', () => store.outboxCount() === 0);
  await pub('garbage.profiles.cb.0', JSON.stringify(event('cb/0', 5)));
  await waitFor('a later event applied', () => store.appliedUpTo('cb/0') === 5);
  t.equal(metric(await registry.metrics(), 'vcp_replication_published_total'), 1);
  t.equal(metric(await registry.metrics(), 'vcp_replication_connected'), 1);
  t.equal(metric(await registry.metrics(), 'vcp_replication_apply_errors_total'), 0);

  // Once the consumer holds nothing unacknowledged, nothing can be delivered again: a rejected message
  // was terminated, not left to come back after the ack wait.
  await waitFor('every delivered message acknowledged or terminated', async () => {
    const info = await (await jetstreamManager(nc)).consumers.info('VCP_GARBAGE', 'ca');
    return info.num_ack_pending === 0 && info.num_pending === 0;
  });
  t.equal(lines.filter((l) => l.code === 'VCP_ERR_REPL_REJECTED').length, 8, 'no rejected event came back');

  // A consumer the server lost is created again; it starts from the stream's beginning, and what was
  // applied before is recognised as such.
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.delete('VCP_GARBAGE', 'ca');
  await waitFor('the consumer created again', () => lines.filter((l) => l.msg === 'replication consumer created').length === 2);
  await pub('garbage.profiles.cb.0', JSON.stringify(event('cb/0', 6)));
  await waitFor('an event after the loss applied', () => store.appliedUpTo('cb/0') === 6);
  t.equal(store.classProfile('sip/x')!.t.proxy!.a, 6, 'the redelivered events were not applied twice');

  // So is a stream deleted under it; local events wait until it is back.
  await jsm.streams.delete('VCP_GARBAGE');
  await store.record(event('x', 0, 'sip/local').ops);
  await waitFor('the stream back and the local event published', async () => store.outboxCount() === 0 && (await jsm.streams.info('VCP_GARBAGE').then(() => true, () => false)));
  await pub('garbage.profiles.cb.0', JSON.stringify(event('cb/0', 7)));
  await waitFor('an event in the new stream applied', () => store.appliedUpTo('cb/0') === 7);
  t.pass('replication resumed on a new stream');
});

t.test('a stream of that name that takes other subjects: a clear error, retried, nothing else touched', async (t) => {
  const nc = await connect({ servers: NATS[0] });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'VCP_WRONG', subjects: ['somebody.else.>'] });
  const config = parseConfig(`
pop: a
wellKnown: { address: 127.0.14.1 }
pops: [{ name: a }]
connectors: [ { name: ca, pop: a, address: 127.0.14.2, workers: 1, ports: { sip: 25060, health: 18080 } } ]
servers: [{ name: a-1, pop: a, address: 127.0.14.10 }]
replication: { servers: [${NATS[0]}], stream: VCP_WRONG, subjectPrefix: wrong.profiles, reconnect: { waitMs: 100 } }
`, 'wrong.yaml');
  const lines: Array<Record<string, unknown>> = [];
  const store = ProfileStore.open(join(t.testdir(), 'profiles'), { origin: 'ca/0', outbox: true });
  const rep = new Replicator({ config: config.replication!, host: 'ca', hosts: ['ca'], store, registry: new Registry(), log: pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }) });
  t.teardown(async () => {
    await rep.stop();
    await store.close();
    await jsm.streams.delete('VCP_WRONG').catch(() => undefined);
    await nc.close();
  });
  rep.start();
  await store.record(event('x', 0).ops);
  await waitFor('the error logged', () => lines.some((l) => l.code === 'VCP_ERR_REPL_STREAM'));
  const line = lines.find((l) => l.code === 'VCP_ERR_REPL_STREAM')!;
  t.match(line.err, /stream VCP_WRONG exists with subjects \["somebody\.else\.>"\], which do not take wrong\.profiles\.>/);
  t.same((await jsm.streams.info('VCP_WRONG')).config.subjects, ['somebody.else.>'], 'the stream is left as it was');
  t.equal(store.outboxCount(), 1, 'the event stays queued');
});

/** Both hosts hold exactly what every writer wrote: class and server counters, applied watermarks. */
async function converged(hosts: PopHosts, runs: Record<Host, number[]>): Promise<boolean> {
  for (const h of ['ca', 'cb'] as const) {
    const store = hosts.store(h);
    for (const w of ['ca', 'cb'] as const) {
      const want = expectedCounters(runs[w]);
      const got = countersOf(store, w);
      if (JSON.stringify(pick(got.cls)) !== JSON.stringify(want) || JSON.stringify(pick(got.srv)) !== JSON.stringify(want)) return false;
      if (w !== h && store.appliedUpTo(`${w}/w`) !== runs[w].reduce((a, b) => a + b, 0)) return false;
    }
  }
  return true;
}

function describe(hosts: PopHosts, logs = false): string {
  const state = (['ca', 'cb'] as const).map((h) => `${h}: ${(['ca', 'cb'] as const).map((w) => `${w} ${JSON.stringify(pick(countersOf(hosts.store(h), w).cls))}`).join(', ')}, queued ${hosts.store(h).outboxCount()}`).join('; ');
  return logs ? `${state}\n--- ca\n${hosts.logs('ca')}\n--- cb\n${hosts.logs('cb')}` : state;
}

t.test('two POPs: events replicate both ways; a POP cut off keeps deciding and queues; after healing the counters are equal', async (t) => {
  const hosts = new PopHosts({ dir: t.testdir(), net: '127.0.14', nats: { ca: [NATS[0]!], cb: [NATS[1]!] }, stream: 'VCP_CUT', replicas: 3 });
  t.teardown(async () => {
    await hosts.close();
    await cluster?.restartNode('127.0.11.2').catch(() => undefined);
  });
  await hosts.start('ca');
  await hosts.start('cb');
  const runs: Record<Host, number[]> = { ca: [], cb: [] };
  const write = async (h: Host, n: number): Promise<void> => {
    const w = writeEvents(hosts.profiles(h), `${h}/w`, n);
    t.equal(await w.done, 0, `${n} events written at ${h}`);
    runs[h].push(n);
  };
  await Promise.all([write('ca', 300), write('cb', 200)]);
  await waitFor('both POPs hold both POPs\' events', () => converged(hosts, runs)).catch((e: Error) => t.fail(`${e.message}: ${describe(hosts, true)}`));
  t.pass(`replicated both ways: ${describe(hosts)}`);

  // Cut POP b off: its NATS server is gone (and with it b's only route to the other POPs).
  await cluster.stopNode('127.0.11.2');
  await waitFor('cb sees the cut', async () => metric(await hosts.metrics('cb'), 'vcp_replication_connected') === 0);
  await Promise.all([write('ca', 400), write('cb', 250)]);
  await waitFor('ca published its events to the rest of the cluster', () => hosts.store('ca').outboxCount() === 0);
  const cbMetrics = await hosts.metrics('cb');
  t.equal(metric(cbMetrics, 'vcp_replication_outbox_events'), 250, 'POP b queues its 250 events while cut off');
  t.ok((metric(cbMetrics, 'vcp_replication_outbox_oldest_seconds') ?? 0) > 0, 'and tells the age of the oldest');
  t.same(pick(countersOf(hosts.store('cb'), 'ca').cls), expectedCounters([300]), 'POP b has none of POP a\'s new events');
  t.same(pick(countersOf(hosts.store('cb'), 'cb').cls), expectedCounters([200, 250]), 'POP b has all its own');
  t.same(pick(countersOf(hosts.store('ca'), 'cb').cls), expectedCounters([200]), 'POP a has none of POP b\'s new events');
  const explain = await hosts.admin('cb', '/explain', { source: '198.51.100.7', userAgent: 'Polycom HDX 8000 HD (Release - 3.1.2)' });
  t.equal(explain.status, 200, 'POP b still decides from its replica');
  t.match(explain.body, { decision: { pop: 'b', server: 'b-1' } });
  // A connector restarted while its NATS is unreachable starts all the same, its queue intact.
  await hosts.stop('cb');
  await hosts.start('cb');
  const again = await hosts.metrics('cb');
  t.equal(metric(again, 'vcp_replication_connected'), 0, 'POP b\'s connector started without NATS');
  t.equal(metric(again, 'vcp_replication_outbox_events'), 250, 'its queue survived the restart');

  // Heal.
  const healing = Date.now();
  // A node back from SIGKILL may wait for a JetStream leader election (seconds, sometimes tens).
  await cluster.restartNode('127.0.11.2', 90_000);
  const nodeBack = Date.now();
  await waitFor('the counters on both POPs equal', () => converged(hosts, runs)).catch((e: Error) => t.fail(`${e.message}: ${describe(hosts, true)}`));
  t.comment(`healed: NATS node back after ${nodeBack - healing} ms, both POPs equal ${Date.now() - nodeBack} ms later`);
  t.equal(hosts.store('cb').outboxCount(), 0, 'POP b\'s queue drained');
  await waitFor('both consumers settled', () => hosts.settled());
  t.ok(await converged(hosts, runs), `still equal, nothing doubled: ${describe(hosts)}`);
  for (const h of ['ca', 'cb'] as const) {
    const store = hosts.store(h);
    t.same(pick(countersOf(store, 'ca').cls), expectedCounters([300, 400]), `${h}: POP a's class counters exact`);
    t.same(pick(countersOf(store, 'cb').srv), expectedCounters([200, 250]), `${h}: POP b's server counters exact`);
  }
  t.equal(hosts.store('ca').appliedUpTo('cb/w'), 450);
  t.equal(hosts.store('cb').appliedUpTo('ca/w'), 700);
  const m = await hosts.metrics('cb');
  t.equal(metric(m, 'vcp_replication_connected'), 1);
  t.equal(metric(m, 'vcp_replication_seq_gap', 'origin="ca/w"'), 0, 'no gap left for POP a\'s writer');
  t.ok((metric(m, 'vcp_replication_lag_seconds', 'origin="ca/w"') ?? -1) >= 0, 'lag per origin');
  t.ok((metric(m, 'vcp_replication_delay_seconds_count') ?? 0) >= 400, 'the delay of every event applied since POP b\'s restart');
  t.equal(metric(m, 'vcp_replication_rejected_total'), undefined, 'nothing rejected');
});

t.test('kill -9 of a replicator, on the publishing and on the applying side: nothing lost, nothing doubled', async (t) => {
  const hosts = new PopHosts({ dir: t.testdir(), net: '127.0.14', nats: { ca: [NATS[0]!], cb: [NATS[2]!] }, stream: 'VCP_KILL', replicas: 3 });
  t.teardown(() => hosts.close());
  await hosts.start('ca');
  await hosts.start('cb');
  const runs: Record<Host, number[]> = { ca: [1500], cb: [300] };
  // Paced writers, so that the kills land mid-way; POP a's holds its last 300 events until POP b's
  // connector is killed, however long the restarts take on a busy machine.
  const HOLD = 1200;
  const wa = writeEvents(hosts.profiles('ca'), 'ca/w', 1500, 400, HOLD);
  const wb = writeEvents(hosts.profiles('cb'), 'cb/w', 300, 100);
  t.teardown(() => Promise.all([wa.stop('SIGKILL'), wb.stop('SIGKILL')]));
  await waitFor('some of POP a\'s events at POP b', () => (countersOf(hosts.store('cb'), 'ca').cls?.a ?? 0) >= 200).catch((e: Error) => t.fail(`${e.message}: ${describe(hosts, true)}`));
  await hosts.stop('ca', 'SIGKILL');
  const atKill = countersOf(hosts.store('cb'), 'ca').cls?.a ?? 0;
  t.ok(atKill < 1500, `POP a's connector killed mid-way (${atKill} of 1500 at POP b)`);
  await hosts.start('ca');
  await waitFor('more of POP a\'s events at POP b', () => (countersOf(hosts.store('cb'), 'ca').cls?.a ?? 0) >= Math.min(atKill + 200, HOLD));
  await hosts.stop('cb', 'SIGKILL');
  t.ok((countersOf(hosts.store('cb'), 'ca').cls?.a ?? 0) < 1500, 'POP b\'s connector killed mid-way');
  wa.release();
  await hosts.start('cb');
  t.equal(await wa.done, 0, 'POP a\'s writer finished');
  t.equal(await wb.done, 0, 'POP b\'s writer finished');
  await waitFor('the counters on both POPs equal', () => converged(hosts, runs)).catch(async (e: Error) => t.fail(`${e.message}: ${describe(hosts, true)}\n${await hosts.diagnose()}`));
  await waitFor('both consumers settled', () => hosts.settled());
  t.ok(await converged(hosts, runs), `exact once nothing can be delivered again: ${describe(hosts)}`);
  t.equal(hosts.store('cb').appliedUpTo('ca/w'), 1500);
  t.equal(hosts.store('ca').appliedUpTo('cb/w'), 300);
  t.equal(hosts.store('ca').outboxCount() + hosts.store('cb').outboxCount(), 0);
});
