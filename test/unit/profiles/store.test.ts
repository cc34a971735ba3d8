import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { ProfileStore, StoreError } from '../../../layer2/profiles/store.js';
import type { Op, RedirectRecord } from '../../../layer2/profiles/events.js';
import { classChain } from '../../../layer2/identify.js';
import { dist, requireBuild } from '../../helpers/procs.js';

// lmdb opens a path with a dot as a single file: every store here lives in a plain-named directory.
const place = (t: Test): string => join(t.testdir(), 'profiles');

const cls = (key: string, ok: boolean, src = 's1', at = 1000): Op => ({ o: 'cls', key, t: 'redirect', ok, ms: ok ? 20 : -1, src, at });

t.test('events: counters, sources, overrides, resets, redirect records, the outcome log', async (t) => {
  const store = ProfileStore.open(place(t), { origin: 'w/0', logSize: 3 });
  t.teardown(() => store.close());
  const ev = await store.record([cls('sip/a', true), cls('sip/a', false, 's1'), cls('sip/a', false, 's2'), cls('sip/a', false, 's2')]);
  t.equal(ev?.seq, 1);
  t.equal(ev?.origin, 'w/0');
  const p = store.classProfile('sip/a')!;
  t.match(p.t.redirect, { a: 4, s: 1, f: 3, l: 20, n: 1 });
  t.same(p.fs.redirect, ['s1', 's2'], 'distinct failing sources');

  await store.record([{ o: 'override', kind: 'class', key: 'sip/a', technique: 'proxy', at: 2000, by: 'ops' }]);
  await store.record([{ o: 'override', kind: 'class', key: 'sip/a', technique: 'redirect', at: 1500, by: 'late' }]);
  t.equal(store.classProfile('sip/a')!.override?.technique, 'proxy', 'last writer wins by time, not by arrival');
  await store.record([{ o: 'reset', kind: 'class', key: 'sip/a', at: 3000, by: 'ops' }]);
  await store.record([cls('sip/a', false, 's9', 2500)]);
  const after = store.classProfile('sip/a')!;
  t.same(after.t, {}, 'reset forgets, and outcomes older than the reset stay forgotten');
  t.equal(after.override?.technique, 'proxy', 'a reset keeps the override');

  await store.record([
    { o: 'srv', key: 'p4:192.0.2.0/24', server: 'ams-1', ok: true, ms: 30, at: 1 },
    { o: 'rtt', key: 'p4:192.0.2.0/24', pop: 'ams', ms: 10, at: 1 },
    { o: 'rtt', key: 'p4:192.0.2.0/24', pop: 'ams', ms: 30, at: 1 },
    { o: 'block', key: 'p4:192.0.2.0/24', server: 'ams-2', until: 9000, at: 1 },
    { o: 'block', key: 'p4:192.0.2.0/24', server: 'ams-2', until: 5000, at: 1 },
  ]);
  const n = store.networkProfile('p4:192.0.2.0/24')!;
  t.equal(n.servers['ams-1']!.s, 1);
  t.equal(n.pops.ams!.rtt, 20, 'RTT mean');
  t.equal(n.servers['ams-2']!.blockedUntil, 9000, 'blocks keep the later time');

  const chain = classChain({ protocol: 'sip', vendor: 'X', product: 'Y', version: '1' });
  const rec: RedirectRecord = {
    token: 'tok1', protocol: 'sip', server: 'ams-1', pop: 'ams', chain: chain.map((c) => c.key), levels: chain.map((c) => c.level), nets: ['p4:192.0.2.0/24'],
    src: 's1', issuedAt: 1, deadline: 2, origin: 'w/0', state: 'open', closedAt: 0, closedPop: '',
  };
  await store.record([{ o: 'redirect', rec }]);
  t.equal(store.openRedirects().length, 1);
  await store.record([{ o: 'close', token: 'tok1', state: 'arrived', at: 5, pop: 'ams' }]);
  await store.record([{ o: 'close', token: 'tok1', state: 'missed', at: 6, pop: 'ams' }]);
  t.equal(store.redirect('tok1')!.state, 'arrived', 'the first close wins');
  await store.record([{ o: 'close', token: 'tok2', state: 'arrived', at: 5, pop: 'iad' }]);
  await store.record([{ o: 'redirect', rec: { ...rec, token: 'tok2' } }]);
  t.equal(store.redirect('tok2')!.state, 'arrived', 'an arrival that came before its record keeps the record closed');
  t.equal(store.redirect('tok2')!.server, 'ams-1', 'and gains its fields');
  t.equal(await store.pruneRedirects(Date.now()), 2);

  for (let i = 0; i < 5; i++) {
    await store.record([{ o: 'log', entry: { at: 100 + i, origin: 'w/0', protocol: 'sip', event: 'proxied', technique: 'local', cls: 'sip', net: '', server: 'ams-1', ok: true, ms: 1, detail: `n${i}` } }]);
  }
  const log = store.outcomes(10);
  t.equal(log.length, 3, 'the log is bounded');
  t.same(log.map((e) => e.detail), ['n4', 'n3', 'n2'], 'newest first');
  t.ok(store.list('class', 'sip/').length >= 1);
  t.equal(store.count('net'), 1);
});

t.test('the hot-path snapshot: trusted for readCacheMs, then checked against the store (other writers seen, unchanged profiles not decoded again)', async (t) => {
  const path = place(t);
  const fresh = ProfileStore.open(path, { origin: 'a/0', readCacheMs: 0 });
  const cached = ProfileStore.open(path, { origin: 'c/0', readCacheMs: 60_000 });
  const other = ProfileStore.open(path, { origin: 'b/0' });
  t.teardown(async () => {
    await fresh.close();
    await cached.close();
    await other.close();
  });
  const chain = classChain({ protocol: 'sip', vendor: 'Acme', product: 'Room', version: '1.0' });
  const key = chain[0]!.key;
  t.equal(fresh.snapshot(chain, []).classes[0], undefined, 'absent before any write');
  t.equal(cached.snapshot(chain, []).classes[0], undefined);
  await other.record([cls(key, true, 's1')]);
  const first = fresh.snapshot(chain, []).classes[0];
  t.match(first?.t.redirect, { a: 1, s: 1, f: 0 }, "another writer's profile is read once the entry's time is up");
  t.equal(fresh.snapshot(chain, []).classes[0], first, 'the same stored bytes give the same decoded profile');
  t.equal(cached.snapshot(chain, []).classes[0], undefined, 'within readCacheMs the cached (absent) profile is trusted');
  await other.record([cls(key, false, 's2')]);
  t.match(fresh.snapshot(chain, []).classes[0]?.t.redirect, { a: 2, s: 1, f: 1 }, 'changed bytes are decoded again');
  t.not(fresh.snapshot(chain, []).classes[0], first);
  await cached.record([cls(key, false, 's3')]);
  t.match(cached.snapshot(chain, []).classes[0]?.t.redirect, { a: 3, s: 1, f: 2 }, 'its own writes are seen at once');
  await other.record([{ o: 'reset', kind: 'class', key, at: 5000, by: 'ops' }]);
  t.same(fresh.snapshot(chain, []).classes[0]?.t, {}, 'a reset by another writer is seen');
});

t.test('remote events apply once each, in any order, and replicas converge', async (t) => {
  const a = ProfileStore.open(place(t), { origin: 'a/0' });
  const b = ProfileStore.open(join(t.testdir(), 'other'), { origin: 'b/0' });
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const evA = [];
  for (let i = 0; i < 5; i++) evA.push((await a.record([cls('sip/x', i % 2 === 0, `s${i}`)]))!);
  const evB = [];
  for (let i = 0; i < 4; i++) evB.push((await b.record([cls('sip/x', true, 'sb'), { o: 'srv', key: 'n', server: 's', ok: true, ms: 1, at: 1 }]))!);
  for (const e of [...evB].reverse()) t.equal(await a.applyRemote(e), 'applied');
  for (const e of evB) t.equal(await a.applyRemote(e), 'duplicate', 'a second delivery is harmless');
  for (const e of [evA[3]!, evA[0]!, evA[4]!, evA[1]!, evA[2]!, evA[0]!]) await b.applyRemote(e);
  t.same(a.classProfile('sip/x')!.t, b.classProfile('sip/x')!.t, 'both replicas hold the same counters');
  t.equal(a.classProfile('sip/x')!.t.redirect!.a, 9);
  t.equal(a.appliedUpTo('b/0'), 4);
  t.equal(b.appliedUpTo('a/0'), 5, 'out-of-order arrivals fill the watermark');
  t.equal(await b.applyRemote(evA[2]!), 'duplicate');
});

t.test('several processes writing at once lose no increment', async (t) => {
  requireBuild();
  const path = place(t);
  ProfileStore.open(path, { origin: 'init' }).close();
  const run = (origin: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [dist('test/helpers/store-writer.js'), path, origin, '400'], { stdio: ['ignore', 'pipe', 'inherit'] });
      c.on('exit', (code) => (code === 0 ? resolve(0) : reject(new Error(`writer exited ${code}`))));
    });
  await Promise.all([run('p1'), run('p2'), run('p3')]);
  const store = ProfileStore.open(path, { origin: 'check' });
  t.teardown(() => store.close());
  t.equal(store.classProfile('sip/test')!.t.proxy!.a, 1200, 'every event of every process counted');
});

t.test('kill -9 in the middle of writes: nothing acknowledged is lost, the store stays sound', async (t) => {
  requireBuild();
  const path = place(t);
  for (let round = 0; round < 3; round++) {
    const c = spawn(process.execPath, [dist('test/helpers/store-writer.js'), path, `k${round}`, 'forever'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acked = 0;
    c.stdout!.on('data', (b: Buffer) => {
      const m = /ack (\d+)\n(?![\s\S]*ack)/.exec(b.toString());
      if (m) acked = Math.max(acked, Number(m[1]));
    });
    await new Promise<void>((r) => {
      const timer = setInterval(() => {
        if (acked >= 300 + round * 100) {
          clearInterval(timer);
          r();
        }
      }, 5);
    });
    const before = acked;
    c.kill('SIGKILL');
    await new Promise((r) => c.once('exit', r));
    const store = ProfileStore.open(path, { origin: 'check' });
    const total = store.classProfile('sip/test')!.t.proxy!.a;
    t.ok(total >= before, `round ${round}: ${total} counted ≥ ${before} acknowledged by the killed writer`);
    t.equal(store.appliedUpTo(`k${round}`) >= before, true, 'its sequence numbers too');
    await store.close();
  }
  const store = ProfileStore.open(path, { origin: 'after' });
  await store.record([cls('sip/after', true)]);
  t.equal(store.classProfile('sip/after')!.t.redirect!.s, 1, 'and it takes writes again');
  await store.close();
});

t.test('a foreign or corrupt store is a clear error naming the path, never a silent reset', async (t) => {
  const dir = t.testdir();
  const corrupt = join(dir, 'corrupt');
  mkdirSync(corrupt);
  writeFileSync(join(corrupt, 'data.mdb'), Buffer.alloc(65536, 0x5a));
  t.throws(() => ProfileStore.open(corrupt, { origin: 'x' }), { name: 'StoreError', code: 'VCP_ERR_PROFILE_STORE', message: new RegExp(`profile store ${corrupt}: data.mdb is not an LMDB data file`) });
  writeFileSync(join(corrupt, 'data.mdb'), Buffer.from('short'));
  t.throws(() => ProfileStore.open(corrupt, { origin: 'x' }), { message: /truncated/ });

  const foreign = join(dir, 'foreign');
  const other = open({ path: foreign, noSubdir: false });
  await other.put('user:1', { name: 'someone else' });
  await other.close();
  t.throws(() => ProfileStore.open(foreign, { origin: 'x' }), StoreError);
  t.throws(() => ProfileStore.open(foreign, { origin: 'x' }), { message: /not a vcproxy profile store/ });
  t.throws(() => ProfileStore.open(foreign, { origin: 'x' }), { message: new RegExp(foreign) }, 'names the path');

  const otherFormat = join(dir, 'format');
  const o2 = open({ path: otherFormat, noSubdir: false });
  await o2.openDB({ name: 'profiles' }).put('m:meta', { format: 'something', version: 1 });
  await o2.close();
  t.throws(() => ProfileStore.open(otherFormat, { origin: 'x' }), { message: /another format/ });

  const newer = join(dir, 'newer');
  const o3 = open({ path: newer, noSubdir: false });
  await o3.openDB({ name: 'profiles' }).put('m:meta', { format: 'vcproxy-profiles', version: 99 });
  await o3.close();
  t.throws(() => ProfileStore.open(newer, { origin: 'x' }), { message: /newer version/ });

  const files = join(dir, 'files');
  mkdirSync(files);
  writeFileSync(join(files, 'notes.txt'), 'mine');
  t.throws(() => ProfileStore.open(files, { origin: 'x' }), { message: /holds other files/ });
});
