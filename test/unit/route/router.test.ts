import t, { type Test } from 'tap';
import fc from 'fast-check';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { parseConfig } from '../../../shared/config/load.js';
import type { Config } from '../../../shared/config/types.js';
import { Geo } from '../../../layer2/geo/geo.js';
import type { ClientIdentity } from '../../../layer2/identify.js';
import { LearningEngine, type CallContext, type RequestInfo } from '../../../layer2/learn/engine.js';
import { LiveView } from '../../../layer2/learn/live.js';
import { ProfileStore } from '../../../layer2/profiles/store.js';
import { RoutedCall, type CallSink } from '../../../layer2/route/call.js';
import { browserJoinUrl, formatJoinAlias, h323Join, httpToken, parseJoinAlias, sipJoinUri, sipTokenUri } from '../../../layer2/route/formats.js';
import { arrivalDigests, h323Identifiers, MAX_ARRIVAL_IDS, sipIdentifiers } from '../../../layer2/route/identifiers.js';
import { Router, type RouteRequest } from '../../../layer2/route/router.js';
import { classHash, TokenSigner } from '../../../layer2/route/tokens.js';
import { parseSipUri, unescapeUri } from '../../../layer2/sip/uri.js';

// The router with a fake clock and no sockets: a real profile store (LMDB in a test directory),
// the learning engine, the embedded geo database; two POPs a and b on documentation addresses.
const KEY = Buffer.from('k'.repeat(40));
const OLD = Buffer.from('o'.repeat(40));
const YAML = `
pop: a
wellKnown: { address: 192.0.2.1 }
pops: [ { name: a }, { name: b } ]
connectors:
  - { name: ca, pop: a, address: 192.0.2.2, workers: 1, ports: { sip: 25060, h323: 21720, health: 18080 } }
  - { name: cb, pop: b, address: 192.0.2.3, workers: 2, ports: { sip: 25060, h323: 21720, health: 18080 } }
servers:
  - { name: a-1, pop: a, address: 192.0.2.10, sipPort: 5060, h323Port: 0 }
  - { name: b-1, pop: b, address: 192.0.2.11, sipPort: 5060, h323Port: 1720 }
geo:
  overrides: [ { prefix: 198.51.100.0/24, pop: a }, { prefix: 203.0.113.0/24, pop: b } ]
techniques: { default: redirect }
learning: { redirectDeadlineMs: 8000, arrivalGraceMs: 2000, probationLimit: 100 }
`;

const ROOM: ClientIdentity = { protocol: 'sip', vendor: 'Polycom', product: 'HDX 8000', version: '3.1' };

interface Pop {
  config: Config;
  tokens: Config['tokens'];
  router: Router;
  engine: LearningEngine;
  store: ProfileStore;
  registry: Registry;
}

let clock = 1_800_000_000_000;
const now = (): number => clock;

async function pop(t: Test, name: 'a' | 'b', dir: string): Promise<Pop> {
  const config = parseConfig(YAML, join(dir, 'router-test.yaml'));
  const store = ProfileStore.open(join(dir, 'profiles'), { origin: `c${name}/0` });
  const live = new LiveView(store, `c${name}/0`);
  const registry = new Registry();
  const log = pino({ level: 'silent' });
  const engine = new LearningEngine({ config, store, geo: new Geo(config.geo), live, log, registry, localPop: name, now });
  const tokens = { key: KEY.toString(), keyFile: '' };
  const router = new Router({ engine, live, tokens, servers: config.servers, connectors: config.connectors, learning: config.learning, log, registry, now });
  t.teardown(async () => {
    await engine.written();
    await store.close();
  });
  return { config, tokens, router, engine, store, registry };
}

const req = (source: string, o: Partial<RouteRequest> = {}): RouteRequest => ({
  protocol: 'sip', callId: `c-${source}`, identity: ROOM, source, domain: '', meeting: 'board', redirectable: true, ...o,
});

const count = async (r: Registry, name: string, labels: Record<string, string> = {}): Promise<number> => {
  const m = (await r.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x)).reduce((n, v) => n + v.value, 0);
};

t.test('tokens: minted tokens verify; a changed octet, another key, another class or their expiry does not', async (t) => {
  const s = new TokenSigner([{ secret: KEY, until: Infinity }]);
  const { token, id } = s.mint({ server: 'b-1', cls: 'sip/polycom', expires: clock + 10_000, technique: 'redirect' });
  t.match(token, /^[A-Za-z0-9_-]{40,200}$/, 'base64url: fits a URI parameter, an alias, a query');
  t.match(id, /^[0-9a-f]{16}$/);
  t.same(s.verify(token, clock, ['sip/polycom/hdx', 'sip/polycom', 'sip']), { ok: true, claims: { id, server: 'b-1', cls: 'sip/polycom', expires: Math.ceil((clock + 10_000) / 1000) * 1000, technique: 'redirect' } });
  t.match(s.verify(token, clock + 11_000, ['sip/polycom']), { ok: false, why: 'expired' });
  t.match(s.verify(token, clock, ['sip/cisco', 'sip']), { ok: false, why: 'other_class' }, 'a token is for the class it was issued to');
  t.match(new TokenSigner([{ secret: Buffer.from('x'.repeat(40)), until: Infinity }]).verify(token, clock, ['sip/polycom']), { ok: false, why: 'unknown_key' });
  const raw = Buffer.from(token, 'base64url');
  for (let i = 2; i < raw.length; i++) {
    const b = Buffer.from(raw);
    b[i] ^= 0x01;
    const v = s.verify(b.toString('base64url'), clock, ['sip/polycom']);
    if (v.ok) t.fail(`octet ${i} changed and the token still verifies`);
  }
  t.pass('no single changed octet (server, expiry, class, id, MAC) verifies');
  // A token that names another server is not one a client can make.
  const other = Buffer.from(raw);
  other.write('a-1', 20, 'latin1');
  t.match(s.verify(other.toString('base64url'), clock, ['sip/polycom']), { ok: false, why: 'bad_mac' });
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (x) => !s.verify(x, clock, ['sip']).ok), { numRuns: 2000 });
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 120 }), (b) => !s.verify(Buffer.from(b).toString('base64url'), clock, ['sip']).ok), { numRuns: 2000 });
  t.equal(classHash('sip/polycom'), classHash('sip/polycom'));
});

t.test('tokens: a rotated key is accepted until its end, the new one signs', async (t) => {
  const before = new TokenSigner([{ secret: OLD, until: Infinity }]);
  const old = before.mint({ server: 'b-1', cls: 'sip', expires: clock + 600_000, technique: 'uri' }).token;
  const rotated = new TokenSigner([{ secret: KEY, until: Infinity }, { secret: OLD, until: clock + 60_000 }]);
  t.ok(rotated.verify(old, clock, ['sip']).ok, 'the previous key still verifies during the grace period');
  t.match(rotated.verify(old, clock + 60_001, ['sip']), { ok: false, why: 'unknown_key' }, 'and not after it');
  const fresh = rotated.mint({ server: 'b-1', cls: 'sip', expires: clock + 600_000, technique: 'uri' }).token;
  t.ok(new TokenSigner([{ secret: KEY, until: Infinity }]).verify(fresh, clock, ['sip']).ok, 'new tokens are signed with the new key');
  t.throws(() => new TokenSigner([{ secret: Buffer.from('short'), until: Infinity }]), RangeError);
});

t.test('formats: SIP URI parameter, H.323 join alias and HTTP query carry a token unescaped and give it back', async (t) => {
  const s = new TokenSigner([{ secret: KEY, until: Infinity }]);
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/), (meeting, server) => {
      const { token } = s.mint({ server, cls: 'sip', expires: clock + 1000, technique: 'uri' });
      const uri = parseSipUri(sipJoinUri(meeting, { address: '192.0.2.3', port: 25060 }, 'vcp-token', token));
      const alias = parseJoinAlias(formatJoinAlias(meeting, token));
      const url = new URL(browserJoinUrl('https://b.example.net', meeting, token));
      return unescapeUri(uri.user) === meeting && uri.params.get('vcp-token') === token && uri.port === 25060
        && alias?.meeting === meeting && alias.token === token && httpToken(url.searchParams) === token;
    }),
    { numRuns: 500 },
  );
  for (const plain of ['board', '8001', 'a+b', 'board+', '+x', `board+${'A'.repeat(39)}`, `board+${'A'.repeat(40)}!`]) t.equal(parseJoinAlias(plain), undefined, `${plain} is an ordinary alias`);
  t.equal(sipTokenUri({ user: 'room', address: '2001:db8::1', port: 5060, tcp: true, param: 'vcp-token', token: '' }), 'sip:room@[2001:db8::1]:5060;transport=tcp', 'the port is always written');
  t.equal(sipJoinUri('m', { address: '192.0.2.3', port: 5060 }, 'vcp-token', ''), 'sip:m@192.0.2.3', 'a join link leaves out the default port');
  t.same(h323Join('board', { address: '192.0.2.3', port: 21720 }, ''), { dial: 'board@192.0.2.3:21720', url: 'h323:board@192.0.2.3:21720' });
  t.equal(browserJoinUrl('', 'a b/c', ''), '/meet/a%20b%2Fc');
});

t.test('identifiers: a digest per identifier and network; another network gives another digest', async (t) => {
  const sip = sipIdentifiers('call-1@x', 'tag1');
  t.equal(sip.length, 1);
  t.same(sipIdentifiers('call-1@x', ''), [], 'no From tag: nothing a follower would keep');
  const a = arrivalDigests(sip, ['p4:198.51.100.0/24']);
  t.same(a, arrivalDigests(sip, ['p4:198.51.100.0/24']), 'stable');
  t.not(a[0], arrivalDigests(sip, ['p4:203.0.113.0/24'])[0], 'bound to the network');
  t.not(a[0], arrivalDigests(sipIdentifiers('call-1@x', 'tag2'), ['p4:198.51.100.0/24'])[0]);
  t.match(a[0], /^[0-9a-f]{32}$/);
  const h = h323Identifiers('5e5e1735-c53a-08c2-8383-56ded4ffcf62', '11111111-2222-3333-4444-555555555555');
  t.equal(arrivalDigests(h, ['n1', 'n2', 'n3', 'n4', 'n5']).length, MAX_ARRIVAL_IDS, 'bounded');
});

t.test('a routed call: failover to the next candidate, the latency of each attempt, capacity units held while established', async (t) => {
  const taught: Array<{ server: string; ok: boolean; ms: number }> = [];
  const units = new Map<string, number>();
  const sink: CallSink = {
    carried: (_c, server, _t, ok, ms) => taught.push({ server, ok, ms }),
    cost: () => 4,
    rtt: () => undefined,
    add: (s, u) => units.set(s, (units.get(s) ?? 0) + u),
  };
  let at = 1000;
  const servers = [{ name: 's1' }, { name: 's2' }, { name: 's3' }] as unknown as Config['servers'];
  const call = new RoutedCall(sink, () => at, {} as CallContext, 'proxy', servers);
  at += 4000;
  call.failed('timeout', 'no response');
  call.failed('timeout', 'again');
  t.equal(call.next()?.name, 's2');
  at += 300;
  call.failed('unavailable', '503');
  t.equal(call.next()?.name, 's3');
  at += 50;
  call.answered('200');
  call.answered('200 again');
  t.same(taught, [{ server: 's1', ok: false, ms: 4000 }, { server: 's2', ok: false, ms: 300 }, { server: 's3', ok: true, ms: 50 }], 'once per attempt, timed from its own start');
  t.equal(call.lastFailure, 'unavailable');
  call.establish();
  t.equal(units.get('s3'), 4);
  t.equal(call.next(), undefined, 'no failover once established');
  call.end();
  call.end();
  t.equal(units.get('s3'), 0, 'the units come back once');
});

t.test('router: a redirect never targets the deciding POP; another POP gets a token and a connector of that POP', async (t) => {
  const dir = t.testdir();
  const a = await pop(t, 'a', dir);
  const local = a.router.route(req('198.51.100.7'), 'sip');
  t.equal(local.action, 'carry', 'geo-mapped to the POP it entered at: carried here');
  if (local.action === 'carry') t.match(local.call, { technique: 'local', server: { name: 'a-1' } });
  t.equal(await count(a.registry, 'vcp_route_redirects_kept_local_total'), 1);
  const away = a.router.route(req('203.0.113.7'), 'sip');
  t.equal(away.action, 'redirect');
  if (away.action !== 'redirect') return;
  t.equal(away.server.name, 'b-1');
  t.ok(['192.0.2.3:25060', '192.0.2.3:25061'].includes(`${away.to.address}:${away.to.port}`), `a worker of POP b's connector: ${away.to.address}:${away.to.port}`);
  t.ok(away.to.viaConnector);
  const v = new TokenSigner([{ secret: KEY, until: Infinity }]).verify(away.token, clock, ['sip/polycom/hdx 8000/3.1']);
  t.match(v, { ok: true, claims: { server: 'b-1', id: away.id, technique: 'redirect' } });
  await a.engine.written();
  t.match(a.store.redirect(away.id), { state: 'open', server: 'b-1', pop: 'b' }, 'the record awaits the arrival');
  const notRedirectable = a.router.route(req('203.0.113.8', { redirectable: false }), 'sip');
  t.match(notRedirectable, { action: 'carry', call: { technique: 'proxy', server: { name: 'b-1' } } }, 'a request that cannot be redirected is proxied');
  const h323 = a.router.route(req('203.0.113.9', { protocol: 'h323', identity: { protocol: 'h323', vendor: '', product: '', version: '' } }), 'h323');
  t.ok(h323.action === 'redirect' && [21720, 21721].includes(h323.to.port), 'H.323: an H.225 port of a worker of POP b\'s connector');
  const none = a.router.route(req('198.51.100.9', { protocol: 'h323', identity: { protocol: 'h323', vendor: '', product: '', version: '' } }), 'h323');
  t.match(none, { action: 'redirect', server: { name: 'b-1' } }, 'only b-1 takes H.323: POP b, by redirect');
});

t.test('router: arrivals by token or by identifiers from the same network; anything else is decided normally and writes nothing', async (t) => {
  const dir = t.testdir();
  const a = await pop(t, 'a', dir);
  const b = await pop(t, 'b', dir);
  const ids = sipIdentifiers('call-7@room', 'ft7');
  const r = a.router.route(req('203.0.113.7', { identifiers: ids }), 'sip');
  if (r.action !== 'redirect') return t.fail('expected a redirect');
  await a.engine.written();

  // The client dropped the URI parameters: Call-ID and From tag, from the same network.
  clock += 500;
  const stripped = b.router.route(req('203.0.113.99', { identifiers: ids }), 'sip');
  t.match(stripped, { action: 'carry', call: { technique: 'local', server: { name: 'b-1' }, ctx: { decision: { decidedBy: 'arrival' } } } });
  t.equal(await count(b.registry, 'vcp_route_arrivals_total', { match: 'identifiers' }), 1);
  await b.engine.written();
  t.equal(b.store.redirect(r.id)?.state, 'arrived', 'the redirect is closed as followed');

  // The same identifiers from another network match nothing.
  const r2 = a.router.route(req('203.0.113.8', { identifiers: sipIdentifiers('call-8@room', 'ft8') }), 'sip');
  if (r2.action !== 'redirect') return t.fail('expected a redirect');
  await a.engine.written();
  const elsewhere = b.router.route(req('198.51.100.50', { identifiers: sipIdentifiers('call-8@room', 'ft8') }), 'sip');
  t.match(elsewhere, { action: 'redirect', server: { name: 'a-1' } }, 'decided, not an arrival: its network is at POP a');
  t.equal(b.store.redirect(r2.id)?.state, 'open');

  // With its token, at the POP it names.
  const byToken = b.router.route(req('203.0.113.8', { token: r2.token }), 'sip');
  t.match(byToken, { action: 'carry', call: { server: { name: 'b-1' }, ctx: { decision: { decidedBy: 'arrival' } } } });
  await b.engine.written();
  t.equal(b.store.redirect(r2.id)?.state, 'arrived');

  // Forged, expired, for another class: decided normally, nothing written.
  const writes = b.store.outcomes(1000).length;
  const forged = `${r2.token.slice(0, -3)}xyz`;
  for (const [token, why] of [[forged, 'bad_mac'], ['garbage', 'malformed']] as const) {
    const x = b.router.route(req('203.0.113.10', { token }), 'sip');
    t.match(x, { action: 'carry', call: { server: { name: 'b-1' } } }, `${why}: decided normally`);
    if (x.action === 'carry') t.not(x.call.ctx.decision.decidedBy, 'arrival');
    t.equal(await count(b.registry, 'vcp_route_tokens_refused_total', { reason: why }), 1);
  }
  const cisco = b.router.route(req('203.0.113.11', { token: r2.token, identity: { protocol: 'sip', vendor: 'Cisco', product: '', version: '' } }), 'sip');
  if (cisco.action === 'carry') t.not(cisco.call.ctx.decision.decidedBy, 'arrival', 'a token of another class is refused');
  clock += 20_000;
  const late = a.router.route(req('203.0.113.12', { identifiers: ids, token: r.token }), 'sip');
  t.equal(late.action, 'redirect', 'an expired token and identifiers past the deadline: decided again (at POP a: another redirect)');
  t.equal(await count(a.registry, 'vcp_route_tokens_refused_total', { reason: 'expired' }), 1);
  await b.engine.written();
  t.equal(b.store.outcomes(1000).length, writes, 'refused tokens wrote nothing at POP b');
});

t.test('router: a join page\'s links name each other; the unused ones close without a failure', async (t) => {
  const dir = t.testdir();
  const a = await pop(t, 'a', dir);
  const ctx = a.router.decide(req('203.0.113.20') as RequestInfo, true);
  const ids = [a.router.newId(), a.router.newId()];
  const links = ids.map((id) => a.router.issue(ctx, 'b-1', { technique: 'uri', deadlineMs: 60_000, id, peers: ids.filter((x) => x !== id) }));
  t.same(links.map((l) => l.id), ids);
  await a.engine.written();
  t.same(a.store.redirect(ids[0]!)?.peers, [ids[1]]);
  a.engine.start();
  t.teardown(() => a.engine.stop());
  clock += 70_000;
  a.engine.sweep(clock);
  await new Promise((r) => setTimeout(r, 50));
  await a.engine.written();
  t.same(ids.map((id) => a.store.redirect(id)?.state), ['missed', 'missed'], 'closed at their deadline');
  t.equal(a.store.outcomes(100).filter((o) => o.event === 'unused').length, 2, 'logged as unused');
  t.equal(a.store.classProfile('sip')?.t.uri?.f ?? 0, 0, 'no failure of the class');
  t.equal(a.store.networkProfile('p4:203.0.113.0/24')?.servers['b-1']?.f ?? 0, 0, 'no failure of the server');
});

t.test('router: a reload changes its sections in place; reconfigure() takes new servers and a new token key', async (t) => {
  const dir = t.testdir();
  const a = await pop(t, 'a', dir);
  const r = a.router.route(req('203.0.113.30'), 'sip');
  if (r.action !== 'redirect') return t.fail('expected a redirect');
  const servers = a.config.servers;
  servers.splice(1, 1, { ...servers[1]!, name: 'b-2' });
  const flowBefore = a.router.derivedKeys('sip flow token')[0]!;
  a.router.reconfigure();
  t.equal(a.router.server('b-1'), undefined, 'the removed server is gone');
  t.equal(a.router.sipServerAt('192.0.2.11', 5060)?.name, 'b-2', 'the new one is known by its address');
  t.same(a.router.derivedKeys('sip flow token')[0], flowBefore, 'the same key: the same derived keys');
  // A new key, the old one kept as the previous of a rotation.
  Object.assign(a.tokens, { key: 'n'.repeat(40), previousKey: KEY.toString() });
  a.engine.reconfigure();
  a.router.reconfigure();
  t.not(a.router.derivedKeys('sip flow token')[0]!.toString('hex'), flowBefore.toString('hex'), 'a new key: new derived keys');
  t.same(a.router.derivedKeys('sip flow token')[1], flowBefore, 'the previous key still derives its own');
  const fresh = a.router.route(req('203.0.113.31'), 'sip');
  if (fresh.action !== 'redirect') return t.fail('expected a redirect');
  t.equal(fresh.server.name, 'b-2');
  t.ok(new TokenSigner([{ secret: Buffer.from('n'.repeat(40)), until: Infinity }]).verify(fresh.token, clock, ['sip/polycom/hdx 8000/3.1']).ok, 'new tokens under the new key');
});
