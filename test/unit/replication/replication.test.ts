import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { ProfileStore } from '../../../layer2/profiles/store.js';
import type { ProfileEvent } from '../../../layer2/profiles/events.js';
import { hostOf, messageId, subjectOf } from '../../../layer2/replication/subjects.js';
import { screen, type ScreenContext } from '../../../layer2/replication/screen.js';
import { covers } from '../../../layer2/replication/stream.js';
import { LogBudget } from '../../../shared/log-budget.js';
import { ReplicationError } from '../../../layer2/replication/errors.js';
import { parseConfig } from '../../../shared/config/load.js';
import { ConfigError } from '../../../shared/errors.js';
import { dist, requireBuild } from '../../helpers/procs.js';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Replicator } from '../../../layer2/replication/replicator.js';

const place = (t: Test): string => join(t.testdir(), 'profiles');
const enc = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));
const ctx: ScreenContext = { subjectPrefix: 'vcp.profiles', ownHost: 'ca', knownHosts: new Set(['ca', 'cb', 'pop.c']), maxBytes: 4096 };
const event = (origin: string, seq = 1): ProfileEvent => ({ origin, seq, at: 1000, ops: [{ o: 'cls', key: 'sip/x', t: 'proxy', ok: true, ms: 5, src: 's', at: 1000 }] });

t.test('subjects: one per origin, host first', async (t) => {
  t.equal(subjectOf('vcp.profiles', 'ca/0'), 'vcp.profiles.ca.0');
  t.equal(subjectOf('vcp.profiles', 'ca/admin'), 'vcp.profiles.ca.admin');
  t.equal(subjectOf('vcp.profiles', 'pop.c/1'), 'vcp.profiles.pop%2Ec.1', 'a dot in a connector name is escaped');
  t.equal(subjectOf('p', 'a b/*>%'), 'p.a%20b.%2A%3E%25');
  t.equal(subjectOf('p', 'solo'), 'p.solo');
  t.equal(subjectOf('p', '/x'), 'p.%.x', 'an empty token still takes a place');
  t.equal(subjectOf('p', 'é/0'), 'p.%C3%A9.0', 'non-ASCII by its UTF-8 bytes');
  t.equal(hostOf('ca/0'), 'ca');
  t.equal(hostOf('solo'), 'solo');
  t.equal(messageId('ca/0', 7), 'ca/0:7');
  fc.assert(
    fc.property(fc.string({ maxLength: 12, unit: 'binary' }), fc.string({ maxLength: 12, unit: 'binary' }), (a, b) => {
      const sa = subjectOf('p', a);
      const sb = subjectOf('p', b);
      if (a !== b && sa === sb) return false;
      // a valid NATS subject: no empty token, no wildcard, no white space
      return sa.split('.').every((tok) => tok.length > 0 && !/[*>\s]/.test(tok));
    }),
    { numRuns: 3000 },
  );
});

t.test('screening: applied, own, and every reason to reject', async (t) => {
  t.match(screen('vcp.profiles.cb.0', enc(event('cb/0')), ctx), { kind: 'event', event: { origin: 'cb/0', seq: 1 } });
  t.match(screen('vcp.profiles.pop%2Ec.3', enc(event('pop.c/3')), ctx), { kind: 'event' });
  t.match(screen('vcp.profiles.ca.0', enc(event('ca/0')), ctx), { kind: 'own' }, 'this host\'s own events come back and are skipped');
  t.match(screen('vcp.profiles.cb.0', Buffer.alloc(5000, 0x20), ctx), { kind: 'rejected', reason: 'too-large', origin: '(subject cb.0)' });
  t.match(screen('vcp.profiles.cb.0', Buffer.from('{"origin":'), ctx), { kind: 'rejected', reason: 'not-json' });
  t.match(screen('vcp.profiles.cb.0', Buffer.from([0x22, 0xff, 0xfe, 0x22]), ctx), { kind: 'rejected', reason: 'not-json' }, 'invalid UTF-8');
  t.match(screen('vcp.profiles.cb.0', enc({ ...event('cb/0'), seq: 0 }), ctx), { kind: 'rejected', reason: 'invalid', detail: 'bad sequence number', origin: 'cb/0' });
  t.match(screen('vcp.profiles.cb.0', enc({ ...event('cb/0'), ops: [{ o: 'cls', key: 'k', t: 'teleport' }] }), ctx), { kind: 'rejected', reason: 'invalid', detail: 'bad cls op' });
  t.match(screen('other.subject', enc([1, 2]), ctx), { kind: 'rejected', reason: 'invalid', origin: '(unknown)' });
  t.match(screen('vcp.profiles.cb.0', enc('x'.repeat(300)), ctx), { kind: 'rejected', reason: 'invalid' });
  t.match(screen('vcp.profiles.cb.0', enc(event('cb/1')), ctx), { kind: 'rejected', reason: 'subject', origin: 'cb/1' }, 'an origin must be published on its own subject');
  t.match(screen('vcp.profiles.cb.0', enc(event('ca/0')), ctx), { kind: 'rejected', reason: 'subject' }, 'a host cannot speak for another');
  t.match(screen('vcp.profiles.zz.0', enc(event('zz/0')), ctx), { kind: 'rejected', reason: 'unknown-origin', origin: 'zz/0' }, 'an origin of no configured connector');
  const long = 'h'.repeat(200);
  const r = screen(`vcp.profiles.${long}.0`, enc({ ...event(`${long}/0`), seq: -1 }), ctx);
  t.ok(r.kind === 'rejected' && r.origin.length <= 130, 'the origin in a log line is cut short');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.string({ maxLength: 40 }), (bytes, subject) => {
      const s = screen(subject, bytes, ctx);
      return s.kind === 'rejected' || s.kind === 'event' || s.kind === 'own';
    }),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(fc.jsonValue(), (v) => screen('vcp.profiles.cb.0', enc(v), ctx).kind === 'rejected'),
    { numRuns: 3000 },
  );
});

t.test('stream subjects: does a filter take the prefix', async (t) => {
  t.ok(covers('vcp.profiles.>', 'vcp.profiles.>'));
  t.ok(covers('vcp.>', 'vcp.profiles.>'));
  t.ok(covers('>', 'vcp.profiles.>'));
  t.ok(covers('vcp.*.>', 'vcp.profiles.>'));
  t.notOk(covers('vcp.profiles.ca.>', 'vcp.profiles.>'));
  t.notOk(covers('vcp.profiles.*', 'vcp.profiles.>'));
  t.notOk(covers('vcp.other.>', 'vcp.profiles.>'));
  t.notOk(covers('vcp.profiles', 'vcp.profiles.>'));
  t.ok(covers('a.b', 'a.b'));
});

t.test('log budget: first lines of a window, then a count of the rest', async (t) => {
  const b = new LogBudget(2, 1000);
  t.same(b.take(0), { ok: true, suppressed: 0 });
  t.same(b.take(1), { ok: true, suppressed: 0 });
  t.same(b.take(2), { ok: false, suppressed: 0 });
  t.same(b.take(3), { ok: false, suppressed: 0 });
  t.same(b.take(1000), { ok: true, suppressed: 2 });
  const e = new ReplicationError('VCP_ERR_REPL_STREAM', 'x');
  t.equal(e.code, 'VCP_ERR_REPL_STREAM');
  t.equal(e.name, 'ReplicationError');
});

t.test('outbox: local events are queued in their own transaction, in commit order; remote ones never', async (t) => {
  const dir = t.testdir();
  const a = ProfileStore.open(join(dir, 'a'), { origin: 'ca/0', outbox: true });
  const a2 = ProfileStore.open(join(dir, 'a'), { origin: 'ca/1', outbox: true });
  const b = ProfileStore.open(join(dir, 'b'), { origin: 'cb/0' });
  t.teardown(async () => {
    await a.close();
    await a2.close();
    await b.close();
  });
  const e1 = await a.record(event('x').ops);
  const e2 = await a2.record(event('x').ops);
  const e3 = await a.record(event('x').ops);
  const q = a.outbox(10);
  t.same(q.map((x) => `${x.event.origin}:${x.event.seq}`), ['ca/0:1', 'ca/1:1', 'ca/0:2'], 'both writers of the host, in commit order');
  t.same(q[0]!.event, e1);
  t.same(q[1]!.event, e2);
  t.same(q[2]!.event, e3);
  t.equal(a.outboxCount(), 3);
  t.equal(a.outbox(1).length, 1);
  await a.applyRemote(event('cb/0', 1));
  t.equal(a.outboxCount(), 3, 'an event from elsewhere is never queued again');
  await b.record(event('x').ops);
  t.equal(b.outboxCount(), 0, 'no outbox without replication');
  await a.removeOutbox([q[0]!.key, q[1]!.key, 'c:not-an-outbox-key']);
  t.same(a.outbox(10).map((x) => x.key), [q[2]!.key]);
  t.ok(a.classProfile('sip/x'), 'removing queued entries leaves the profiles alone');
  await a.removeOutbox([]);
  t.equal(a.outboxCount(), 1);
});

t.test('outbox: a writer killed mid-stream leaves exactly its committed events queued', async (t) => {
  requireBuild();
  const path = place(t);
  const child = spawn(process.execPath, [dist('test/helpers/repl-writer.js'), path, 'ca/0', '1000000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let acked = 0;
  child.stdout!.on('data', (b: Buffer) => {
    const m = /ack (\d+)\n$/.exec(b.toString());
    if (m) acked = Number(m[1]);
  });
  await new Promise<void>((resolve) => {
    const iv = setInterval(() => {
      if (acked >= 500) {
        clearInterval(iv);
        child.kill('SIGKILL');
        resolve();
      }
    }, 5);
  });
  await new Promise((r) => child.once('exit', r));
  const store = ProfileStore.open(path, { origin: 'check' });
  t.teardown(() => store.close());
  const committed = store.classProfile('sip/ca')!.t.proxy!.a;
  t.ok(committed >= acked, `every acknowledged event is committed (${committed} ≥ ${acked})`);
  const q = store.outbox(2_000_000);
  t.equal(q.length, committed, 'one queued event per committed event');
  t.same(q.map((x) => x.event.seq), Array.from({ length: committed }, (_, i) => i + 1), 'sequence numbers 1..n, none missing, none doubled');
});

t.test('no NATS reachable: the store works, events queue, the metrics tell', async (t) => {
  const config = parseConfig(configText('replication: { servers: [nats://127.0.11.99:4299], reconnect: { waitMs: 50 } }'), 'r.yaml');
  const store = ProfileStore.open(place(t), { origin: 'ca/0', outbox: true });
  const registry = new Registry();
  const lines: Array<Record<string, unknown>> = [];
  const rep = new Replicator({ config: config.replication!, host: 'ca', hosts: ['ca', 'pop.b'], store, registry, log: pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }) });
  t.teardown(() => store.close());
  rep.start();
  for (let i = 0; i < 5; i++) await store.record(event('x').ops);
  await new Promise((r) => setTimeout(r, 300));
  const m = await registry.metrics();
  t.match(m, /vcp_replication_connected\S* 0/);
  t.match(m, /vcp_replication_outbox_events\S* 5/);
  t.match(m, /vcp_replication_outbox_oldest_seconds\S* [0-9.]+/);
  t.ok(lines.some((l) => l.msg === 'replication connection failed; trying again' && Array.isArray(l.servers)), 'the failure is logged with the servers');
  await rep.stop();
  t.equal(store.outboxCount(), 5, 'the queue stays for the next start');
  t.throws(() => new Replicator({ config: config.replication!, host: 'nobody', hosts: [], store, registry: new Registry(), log: pino({ level: 'silent' }) }), /no host entry for connector nobody/);
});

const configText = (replication: string): string => `
pop: a
wellKnown: { address: 127.0.14.1 }
pops: [{ name: a }, { name: b }]
connectors:
  - { name: ca, pop: a, address: 127.0.14.2, workers: 1, ports: { sip: 25060, health: 18080 } }
  - { name: pop.b, pop: b, address: 127.0.14.3, workers: 1, ports: { sip: 25060, health: 18080 } }
servers: [{ name: a-1, pop: a, address: 127.0.14.10 }]
${replication}
`;

const bad = (t: Test, text: string, re: RegExp): void => {
  try {
    parseConfig(text, 'r.yaml');
    t.fail(`accepted a config that should fail with ${re}`);
  } catch (e) {
    t.type(e, ConfigError);
    t.match((e as Error).message, re);
  }
};

t.test('config: the replication section', async (t) => {
  t.equal(parseConfig(configText(''), 'r.yaml').replication, undefined, 'no section, no replication');
  const c = parseConfig(configText('replication: { servers: [nats://127.0.11.1:4222], hosts: { pop.b: { servers: [nats://127.0.11.2:4222, "tls://n.example:4222"] } } }'), 'r.yaml').replication!;
  t.match(c, {
    stream: 'VCP_PROFILES', subjectPrefix: 'vcp.profiles', replicas: 1, maxAgeMs: 604_800_000, duplicateWindowMs: 120_000, ackWaitMs: 30_000,
    reconnect: { waitMs: 1000, jitterMs: 200, maxAttempts: -1 }, pollMs: 20, publishWindow: 256, applyWindow: 256, auth: undefined,
  });
  t.same(c.hosts, {
    ca: { servers: ['nats://127.0.11.1:4222'], consumer: 'ca' },
    'pop.b': { servers: ['nats://127.0.11.2:4222', 'tls://n.example:4222'], consumer: 'pop_b' },
  }, 'every connector gets its servers and a consumer of its own');
  t.same(parseConfig(configText('replication: { servers: [nats://h:1], token: secret }'), 'r.yaml').replication!.auth, { token: 'secret' });
  t.same(parseConfig(configText('replication: { servers: [nats://h:1], user: u, password: p }'), 'r.yaml').replication!.auth, { user: 'u', password: 'p' });
  bad(t, configText('replication: { stream: X }'), /r\.yaml: replication\.servers \(line \d+\): required key is missing/);
  bad(t, configText('replication: { servers: [] }'), /replication\.servers .*NATS server URLs/);
  bad(t, configText('replication: { servers: ["http://h:1"] }'), /replication\.servers\[0\] .*a NATS server URL/);
  bad(t, configText('replication: { servers: [nats://h:1], stream: "a.b" }'), /replication\.stream .*JetStream name/);
  bad(t, configText('replication: { servers: [nats://h:1], subjectPrefix: "a.>" }'), /replication\.subjectPrefix .*subject tokens/);
  bad(t, configText('replication: { servers: [nats://h:1], replicas: 7 }'), /replication\.replicas .*1\.\.5/);
  bad(t, configText('replication: { servers: [nats://h:1], hosts: { cz: { consumer: x } } }'), /replication\.hosts\.cz .*name of a connector.*"cz"/);
  bad(t, configText('replication: { servers: [nats://h:1], hosts: { ca: { consumer: same }, pop.b: { consumer: same } } }'), /replication\.hosts .*ca and pop\.b would both consume as "same"/);
  bad(t, configText('replication: { servers: [nats://h:1], password: p }'), /replication .*a user with the password/);
  bad(t, configText('replication: { servers: [nats://h:1], user: u }'), /replication .*a password with the user/);
  bad(t, configText('replication: { servers: [nats://h:1], user: u, password: p, token: t }'), /either token or user and password/);
  bad(t, configText('replication: { servers: [nats://h:1], maxAgeMs: 5000 }'), /replication\.maxAgeMs .*at least duplicateWindowMs/);
  bad(t, configText('replication: { servers: [nats://h:1], reconnect: { every: 1 } }'), /replication\.reconnect\.every .*unknown key/);
});
