import t from 'tap';
import fc from 'fast-check';
import { attributeMiss } from '../../../layer2/learn/attribution.js';
import { NetworkIdentifier } from '../../../layer2/learn/network.js';
import { SourceRateLimit } from '../../../layer2/learn/rate-limit.js';
import { sourceHash } from '../../../layer2/learn/engine.js';
import { Geo, embeddedDatabase } from '../../../layer2/geo/geo.js';
import { continentOf } from '../../../layer2/geo/continents.js';
import { invalidEvent, invalidOp, type RedirectRecord } from '../../../layer2/profiles/events.js';
import { applyClassOp, applyNetworkOp, applyRedirectOp, emptyCounter } from '../../../layer2/profiles/apply.js';
import { addressBytes, contains, isReserved, longestMatch, networkKeyOf, parsePrefix } from '../../../shared/net/prefix.js';
import type { ClassProfile, LearningPolicy, NetworkProfile } from '../../../layer2/decide/types.js';
import type { StoreView } from '../../../layer2/profiles/store.js';
import { classChain } from '../../../layer2/identify.js';

const policy: LearningPolicy = { breakAfter: 2, minSources: 2, provenAfter: 2, provenRatio: 0.8, rttToleranceMs: 10, probationLimit: 1 };
const chain = classChain({ protocol: 'sip', vendor: 'Acme', product: 'Room', version: '1' });
const rec: RedirectRecord = {
  token: 't1', protocol: 'sip', server: 'b-1', pop: 'b', chain: chain.map((c) => c.key), levels: chain.map((c) => c.level), nets: ['p4:198.51.100.0/24'],
  src: 'abcd', issuedAt: 1, deadline: 2, origin: 'w/0', state: 'open', closedAt: 0, closedPop: '',
};
function view(classes: Record<string, ClassProfile>, nets: Record<string, NetworkProfile>): StoreView {
  return { classProfile: (k) => classes[k], networkProfile: (k) => nets[k], redirect: () => undefined };
}
const proven: ClassProfile = { key: chain[0]!.key, t: { redirect: { ...emptyCounter(), a: 3, s: 3 } }, fs: {}, ovAt: 0, resetAt: 0 };
const reached: NetworkProfile = { key: rec.nets[0]!, servers: { 'b-2': { ...emptyCounter(), s: 1, blockedUntil: 0, tr: 5 } }, pops: {}, ovAt: 0, resetAt: 0 };

t.test('a missed redirect is attributed to the network, the client class, or both when nothing is known', async (t) => {
  const net = attributeMiss(rec, ['b-1', 'b-2'], view({ [chain[0]!.key]: proven }, {}), policy, 1000, 60_000);
  t.equal(net.cause, 'network');
  t.same(net.ops.filter((o) => o.o === 'block').map((o) => (o as { server: string }).server), ['b-1', 'b-2'], 'every server of the POP leaves the network’s set');
  t.notOk(net.ops.some((o) => o.o === 'cls'), 'the class is not blamed');
  t.match(net.detail, /cannot reach POP b: blocked for 60 s/);

  const client = attributeMiss(rec, ['b-1', 'b-2'], view({}, { [rec.nets[0]!]: reached }), policy, 1000, 60_000);
  t.equal(client.cause, 'client', 'the network reached that POP before (a redirect followed there)');
  t.equal(client.ops.filter((o) => o.o === 'cls').length, chain.length, 'a failure at every level of the class');
  t.notOk(client.ops.some((o) => o.o === 'block'));

  const carried: NetworkProfile = { ...reached, servers: { 'b-1': { ...emptyCounter(), s: 9, blockedUntil: 0, tr: 0 } } };
  const unknown = attributeMiss(rec, ['b-1', 'b-2'], view({}, { [rec.nets[0]!]: carried }), policy, 1000, 60_000);
  t.equal(unknown.cause, 'unknown', 'calls proxied to the server do not prove the client reaches it');
  t.ok(unknown.ops.some((o) => o.o === 'cls') && unknown.ops.some((o) => o.o === 'block'), 'both suspected');
});

t.test('ops apply as counters that commute, with last-writer-wins overrides and resets', async (t) => {
  const ops = [
    { o: 'cls' as const, key: 'k', t: 'redirect' as const, ok: true, ms: 10, src: 'a', at: 5 },
    { o: 'cls' as const, key: 'k', t: 'redirect' as const, ok: false, ms: -1, src: 'b', at: 7 },
    { o: 'override' as const, kind: 'class' as const, key: 'k', technique: 'proxy' as const, at: 6, by: 'x' },
    { o: 'override' as const, kind: 'class' as const, key: 'k', technique: null, at: 8, by: 'y' },
    { o: 'cls' as const, key: 'k', t: 'proxy' as const, ok: true, ms: 3, src: 'c', at: 9 },
  ];
  fc.assert(
    fc.property(fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }), (order) => {
      let p: ClassProfile | undefined;
      for (const op of order) p = applyClassOp(p, op) ?? p;
      const q = p!;
      if (q.t.redirect!.s !== 1 || q.t.redirect!.f !== 1 || q.t.proxy!.s !== 1) throw new Error('counters');
      if (q.override !== undefined || q.ovAt !== 8) throw new Error('override is not last-writer-wins');
      if (q.t.redirect!.tf !== 7 || q.t.redirect!.ts !== 5) throw new Error('times');
    }),
  );
  const n = applyNetworkOp(undefined, { o: 'srv', key: 'n', server: 's', ok: true, ms: 4, at: 3, direct: true })!;
  t.equal(n.servers.s!.tr, 3, 'a direct reach is remembered');
  t.equal(applyNetworkOp(n, { o: 'srv', key: 'n', server: 's', ok: true, ms: 4, at: 9 })!.servers.s!.tr, 3, 'a carried call does not count as one');
  t.equal(applyNetworkOp(n, { o: 'cls', key: 'n', t: 'proxy', ok: true, ms: 1, src: '', at: 1 }), undefined, 'ops for another kind are not applied');
  const reset = applyNetworkOp(n, { o: 'reset', kind: 'net', key: 'n', at: 10, by: 'ops' })!;
  t.same(reset.servers, {});
  t.equal(applyNetworkOp(reset, { o: 'srv', key: 'n', server: 's', ok: false, ms: 1, at: 9 }), reset, 'an outcome older than the reset is dropped');
  t.equal(applyRedirectOp(undefined, { o: 'cls', key: 'x', t: 'proxy', ok: true, ms: 1, src: '', at: 1 }), undefined);
});

t.test('events from elsewhere are validated before they touch the store', async (t) => {
  const good = { origin: 'b/0', seq: 3, at: 5, ops: [{ o: 'cls', key: 'sip/x', t: 'redirect', ok: true, ms: 1, src: 'a', at: 5 }] };
  t.equal(invalidEvent(good), undefined);
  t.match(invalidEvent({ ...good, seq: 0 }), /sequence/);
  t.match(invalidEvent({ ...good, origin: '' }), /origin/);
  t.match(invalidEvent({ ...good, ops: [] }), /op list/);
  t.match(invalidEvent(null), /not an object/);
  t.match(invalidOp({ o: 'cls', key: 'k', t: 'teleport', ok: true, ms: 1, src: '', at: 1 }), /bad cls/);
  t.match(invalidOp({ o: 'rtt', key: 'k', pop: 'a', ms: -5, at: 1 }), /bad rtt/);
  t.match(invalidOp({ o: 'drop-table' }), /unknown op/);
  t.equal(invalidOp({ o: 'redirect', rec }), undefined);
  t.match(invalidOp({ o: 'redirect', rec: { ...rec, levels: ['galaxy', 'x', 'y', 'z', 'w'] } }), /bad redirect/);
  t.equal(invalidOp({ o: 'override', kind: 'net', key: 'n', allow: ['a'], at: 1, by: 'x' }), undefined);
  t.match(invalidOp({ o: 'override', kind: 'net', key: 'n', allow: 'a', at: 1, by: 'x' }), /bad override/);
  fc.assert(fc.property(fc.anything(), (x) => {
    invalidEvent(x);
    invalidOp(x);
  }), { numRuns: 2000 });
});

t.test('prefixes, networks, geo', async (t) => {
  t.same([...addressBytes('::ffff:198.51.100.7')!], [198, 51, 100, 7], 'IPv4-mapped becomes IPv4');
  t.equal(networkKeyOf(addressBytes('198.51.100.7')!), 'p4:198.51.100.0/24');
  t.equal(networkKeyOf(addressBytes('2001:db8:1:2::5')!), 'p6:2001:db8:1::/48');
  t.equal(parsePrefix('198.51.100.1/24'), undefined, 'host bits set');
  t.equal(parsePrefix('198.51.100.0/33'), undefined);
  t.ok(contains(parsePrefix('2001:db8::/32')!, addressBytes('2001:db8:ffff::1')!));
  t.notOk(contains(parsePrefix('10.0.0.0/9')!, addressBytes('10.128.0.1')!));
  t.equal(longestMatch([parsePrefix('10.0.0.0/8')!, parsePrefix('10.1.0.0/16')!], addressBytes('10.1.2.3')!), 1);
  t.ok(isReserved(addressBytes('192.168.1.1')!));
  t.notOk(isReserved(addressBytes('8.8.8.8')!));

  const ni = new NetworkIdentifier([{ name: 'acme', prefixes: ['198.51.100.0/24', '2001:db8::/32'], customer: 'acme-corp', accessible: [] }]);
  const n = ni.identify('198.51.100.9', 'Acme.Example');
  t.same(n.ids.map((x) => x.key), ['p4:198.51.100.0/24', 'net:acme', 'dom:acme.example']);
  t.equal(n.customer, 'acme-corp');
  t.same(ni.identify('203.0.113.1', '203.0.113.1').ids.map((x) => x.key), ['p4:203.0.113.0/24'], 'an address as domain is no domain');
  t.same(ni.identify('not an address').ids, []);

  t.match(embeddedDatabase(), /dbip-country\.mmdb$/);
  const geo = new Geo({ database: '', rules: [{ country: 'SG', continent: '', pop: 'sgp' }, { country: '', continent: 'EU', pop: 'ams' }, { country: '', continent: '', pop: 'iad' }], overrides: [{ prefix: '81.2.69.0/24', country: 'SG', pop: '' }, { prefix: '8.8.8.0/24', country: '', pop: 'ams' }] });
  const at = (a: string) => geo.locate(a, addressBytes(a)!);
  t.match(at('81.2.68.1'), { country: 'GB', continent: 'EU', pop: 'ams', source: 'database' });
  t.match(at('81.2.69.160'), { country: 'SG', continent: 'AS', pop: 'sgp', source: 'override' }, 'a per-prefix override wins over the database');
  t.match(at('8.8.8.8'), { pop: 'ams', source: 'override' });
  t.match(at('8.8.4.4'), { country: 'US', continent: 'NA', pop: 'iad' });
  t.match(at('10.1.1.1'), { country: '', pop: 'iad', source: 'reserved' });
  t.equal(continentOf('BR'), 'SA');
  t.equal(continentOf('ZZ'), '');
  t.throws(() => new Geo({ database: '/nonexistent.mmdb', rules: [], overrides: [] }), { code: 'VCP_ERR_GEO_DATABASE', message: /\/nonexistent\.mmdb/ });
  t.throws(() => new Geo({ database: new URL(import.meta.url).pathname, rules: [], overrides: [] }), { code: 'VCP_ERR_GEO_DATABASE', message: /not a MaxMind-format database/ });
});

t.test('rate limit per source, source hashes', async (t) => {
  const rl = new SourceRateLimit(60);
  let ok = 0;
  for (let i = 0; i < 100; i++) if (rl.allow('a', 1000)) ok++;
  t.equal(ok, 60, 'a burst of a minute’s worth');
  t.notOk(rl.allow('a', 1000));
  t.ok(rl.allow('a', 2000), 'one more a second later');
  t.ok(rl.allow('b', 1000), 'other sources are not affected');
  t.equal(sourceHash('198.51.100.1'), sourceHash('198.51.100.1'));
  t.not(sourceHash('198.51.100.1'), sourceHash('198.51.100.2'));
  t.match(sourceHash('x'), /^[0-9a-f]{8}$/);
});
