import t from 'tap';
import fc from 'fast-check';
import { decide } from '../../../layer2/decide/decide.js';
import { chooseTechnique } from '../../../layer2/decide/technique.js';
import { verdictOf } from '../../../layer2/decide/verdict.js';
import { meetingMatches } from '../../../layer2/decide/pop.js';
import type { ClassProfile, Counter, DecisionRequest, LearningPolicy, LiveState, NetworkProfile, ProfileSnapshot, Technique, Topology } from '../../../layer2/decide/types.js';
import { classChain } from '../../../layer2/identify.js';

const policy: LearningPolicy = { breakAfter: 2, minSources: 2, provenAfter: 2, provenRatio: 0.8, rttToleranceMs: 10, probationLimit: 1 };

/** Three core POPs, a micro POP for acme, servers with different capacities and work types. */
function topology(over: Partial<Topology> = {}): Topology {
  const pops = [
    { name: 'ams', kind: 'core' as const, region: 'eu', reachableFrom: [] },
    { name: 'iad', kind: 'core' as const, region: 'us', reachableFrom: [] },
    { name: 'sgp', kind: 'core' as const, region: 'apac', reachableFrom: [] },
    { name: 'acme-hq', kind: 'micro' as const, region: 'eu', reachableFrom: ['acme'] },
  ];
  return {
    localPop: 'ams',
    pops,
    popByName: new Map(pops.map((p) => [p.name, p])),
    servers: [
      { name: 'ams-1', pop: 'ams', capacity: 100, workTypes: { reflector: 1, transcoder: 4 } },
      { name: 'ams-2', pop: 'ams', capacity: 100, workTypes: { reflector: 1 } },
      { name: 'iad-1', pop: 'iad', capacity: 100, workTypes: { reflector: 1, transcoder: 4 } },
      { name: 'sgp-1', pop: 'sgp', capacity: 50, workTypes: { reflector: 1 } },
      { name: 'acme-1', pop: 'acme-hq', capacity: 10, workTypes: { reflector: 1 } },
    ],
    customers: { acme: { name: 'acme', regions: [], microPop: { pop: 'acme-hq', meetings: ['board', 'acme-*'] } }, euonly: { name: 'euonly', regions: ['eu'] } },
    networks: { acme: { name: 'acme', customer: 'acme', accessible: [] }, locked: { name: 'locked', customer: '', accessible: ['iad'] } },
    techniques: { default: 'proxy', classes: {} },
    learning: policy,
    ...over,
  };
}

const polycom = { protocol: 'sip' as const, vendor: 'Polycom', product: 'HDX 8000', version: '3.1.2' };

function request(over: Partial<DecisionRequest> = {}): DecisionRequest {
  const client = over.client ?? polycom;
  return {
    protocol: 'sip', client, chain: classChain(client), source: '192.0.2.10',
    networks: [{ key: 'p4:192.0.2.0/24', physical: true }], geo: { country: 'NL', continent: 'EU', pop: 'ams' },
    customer: '', meeting: 'room1', workType: 'reflector', exclude: [], ...over,
  };
}

const none = (r: DecisionRequest): ProfileSnapshot => ({ classes: r.chain.map(() => undefined), networks: r.networks.map(() => undefined) });
const live = (servers: Record<string, { units?: number; up?: boolean; drained?: boolean }> = {}, now = 1_000_000, pending: Record<string, number> = {}): LiveState => ({
  now,
  pending: new Map(Object.entries(pending)),
  servers: new Map(Object.entries(servers).map(([k, v]) => [k, { units: v.units ?? 0, up: v.up ?? true, drained: v.drained ?? false }])),
});
const counter = (s: number, f: number): Counter => ({ a: s + f, s, f, l: 0, n: 0, ts: 0, tf: 0 });
const cls = (key: string, t: Partial<Record<Technique, Counter>>, fs: Partial<Record<Technique, string[]>> = {}, extra: Partial<ClassProfile> = {}): ClassProfile => ({ key, t, fs, ovAt: 0, resetAt: 0, ...extra });
const net = (key: string, extra: Partial<NetworkProfile> = {}): NetworkProfile => ({ key, servers: {}, pops: {}, ovAt: 0, resetAt: 0, ...extra });

t.test('unknown client, first call: geo picks the POP, free capacity the server, proxy handled locally', async (t) => {
  const r = request();
  const d = decide(r, none(r), topology(), live({ 'ams-1': { units: 40 } }));
  t.equal(d.pop, 'ams');
  t.equal(d.server, 'ams-2', 'the emptier server of the POP');
  t.equal(d.technique, 'local');
  t.same(d.candidates.slice(0, 2).map((c) => c.server), ['ams-2', 'ams-1'], 'failover stays in the POP first');
  t.ok(d.candidates.some((c) => c.pop === 'iad'), 'then other POPs');
  t.notOk(d.candidates.some((c) => c.pop === 'acme-hq'), 'never a micro POP of another network');
  t.match(d.reasons.join('\n'), /geo NL\/EU/);
  t.match(d.reasons.join('\n'), /in micro POPs of other networks/);
  t.match(d.reasons.join('\n'), /handled locally/);
});

t.test('(B) POP: geo for another continent gives proxy to that POP; measured latency beats geo', async (t) => {
  const r = request({ geo: { country: 'SG', continent: 'AS', pop: 'sgp' } });
  const d = decide(r, none(r), topology(), live());
  t.equal(d.pop, 'sgp');
  t.equal(d.technique, 'proxy', 'a server in another POP is proxied, not local');

  const measured: ProfileSnapshot = { classes: r.chain.map(() => undefined), networks: [net('p4:192.0.2.0/24', { pops: { sgp: { rtt: 180, n: 5 }, iad: { rtt: 40, n: 3 } } })] };
  const d2 = decide(r, measured, topology(), live());
  t.equal(d2.pop, 'iad', 'lowest RTT');
  t.match(d2.reasons.join('\n'), /measured RTT 40 ms/);

  const close: ProfileSnapshot = { classes: r.chain.map(() => undefined), networks: [net('p4:192.0.2.0/24', { pops: { sgp: { rtt: 45, n: 5 }, iad: { rtt: 40, n: 3 } } })] };
  t.equal(decide(r, close, topology(), live()).pop, 'sgp', 'RTTs within the tolerance are equal and geo breaks the tie');
});

t.test('(A) accessibility: static sets, learned blocks, policy regions, drains, health, micro POP reach', async (t) => {
  const topo = topology();
  const locked = request({ networks: [{ key: 'p4:192.0.2.0/24', physical: true }, { key: 'net:locked', physical: true, name: 'locked' }] });
  const d = decide(locked, none(locked), topo, live());
  t.equal(d.pop, 'iad', 'a network whose firewall only lets iad through');
  t.same(new Set(d.candidates.map((c) => c.pop)), new Set(['iad']));

  const r = request();
  const blocked: ProfileSnapshot = { classes: r.chain.map(() => undefined), networks: [net('p4:192.0.2.0/24', { servers: { 'ams-1': { ...counter(0, 1), blockedUntil: 2_000_000, tr: 0 }, 'ams-2': { ...counter(0, 1), blockedUntil: 2_000_000, tr: 0 } } })] };
  const d2 = decide(r, blocked, topo, live());
  t.not(d2.pop, 'ams', 'the learned block moves the network off ams');
  t.match(d2.reasons.join('\n'), /2 learned blocked/);
  t.equal(decide(r, blocked, topo, live({}, 3_000_000)).pop, 'ams', 'after the retry time the block lapses');

  const eu = request({ customer: 'euonly', geo: { country: 'US', continent: 'NA', pop: 'iad' } });
  const d3 = decide(eu, none(eu), topo, live());
  t.equal(d3.pop, 'ams', 'a customer allowed only in eu');
  t.match(d3.reasons.join('\n'), /outside the regions of customer euonly/);

  const d4 = decide(r, none(r), topo, live({ 'ams-1': { drained: true }, 'ams-2': { up: false } }));
  t.not(d4.pop, 'ams');
  t.match(d4.reasons.join('\n'), /1 down; 1 drained/);

  const acme = request({ customer: 'acme', meeting: 'acme-weekly', networks: [{ key: 'net:acme', physical: true, name: 'acme' }] });
  const d5 = decide(acme, none(acme), topo, live());
  t.equal(d5.pop, 'acme-hq', 'the customer meeting goes to its micro POP');
  t.match(d5.reasons.join('\n'), /micro POP of customer acme/);
  const acmeOther = request({ ...acme, meeting: 'all-hands' });
  t.equal(decide(acmeOther, none(acmeOther), topo, live()).pop, 'ams', 'other meetings of the customer go by geo');
  const outsider = request({ customer: 'acme', meeting: 'board' });
  t.not(decide(outsider, none(outsider), topo, live()).pop, 'acme-hq', 'a network that cannot reach the micro POP never gets it');

  const admin: ProfileSnapshot = { classes: r.chain.map(() => undefined), networks: [net('p4:192.0.2.0/24', { allow: { names: ['sgp'], at: 1, by: 'ops' } })] };
  t.equal(decide(r, admin, topo, live()).pop, 'sgp', 'an admin accessible set');
});

t.test('(C) server: capacity for the work type, cost, failures from this network, overflow', async (t) => {
  const topo = topology();
  const tr = request({ workType: 'transcoder' });
  const d = decide(tr, none(tr), topo, live());
  t.equal(d.server, 'ams-1', 'only ams-1 transcodes in ams');
  t.match(d.reasons.join('\n'), /costs 4/);
  const full = decide(tr, none(tr), topo, live({ 'ams-1': { units: 97 } }));
  t.equal(full.server, 'iad-1', 'a server without room for the cost overflows to the next POP');
  t.match(full.reasons.join('\n'), /full for transcoder: overflow to iad/);

  const r = request();
  const bad: ProfileSnapshot = { classes: r.chain.map(() => undefined), networks: [net('p4:192.0.2.0/24', { servers: { 'ams-2': { ...counter(1, 3), blockedUntil: 0, tr: 0 } } })] };
  t.equal(decide(r, bad, topo, live()).server, 'ams-1', 'a server this network keeps failing with goes last');

  const gone = decide(r, none(r), topo, live(Object.fromEntries(topo.servers.map((s) => [s.name, { up: false }]))));
  t.equal(gone.server, '');
  t.equal(gone.candidates.length, 0);
  t.match(gone.reasons.join('\n'), /accessible: 0 of 5/);

  const tried = request({ exclude: ['ams-1', 'ams-2'] });
  t.equal(decide(tried, none(tried), topo, live()).pop, 'iad', 'failover leaves the tried servers out');
});

t.test('passive health: servers failing lately are avoided while others can take the call, tried when none can', async (t) => {
  const r = request();
  const live1: LiveState = { now: 1000, pending: new Map(), servers: new Map([['ams-2', { units: 0, up: true, drained: false, suspectUntil: 5000 }]]) };
  const d = decide(r, none(r), topology(), live1);
  t.equal(d.server, 'ams-1', 'the other server of the POP');
  t.notOk(d.candidates.some((c) => c.server === 'ams-2'));
  t.match(d.reasons.join('\n'), /1 failing lately/);
  t.ok(decide(r, none(r), topology(), { ...live1, now: 6000 }).candidates.some((c) => c.server === 'ams-2'), 'the suspicion lapses');
  const all = new Map(topology().servers.map((s) => [s.name, { units: 0, up: true, drained: false, suspectUntil: 5000 }]));
  const d2 = decide(r, none(r), topology(), { now: 1000, pending: new Map(), servers: all });
  t.equal(d2.pop, 'ams', 'with every server suspect, they are tried anyway');
  t.match(d2.reasons.join('\n'), /all of them failing lately: tried anyway/);
});

t.test('technique: override > record that breaks > configured > proven > default', async (t) => {
  const chain = classChain(polycom);
  const cfg = (classes: Record<string, Technique>, def: Technique = 'proxy') => ({ default: def, classes });
  const at = (level: number, p: ClassProfile) => chain.map((_, i) => (i === level ? p : undefined));
  // chain: version 0, product 1, vendor 2, protocol 3, default 4
  const cases: Array<[string, Array<ClassProfile | undefined>, ReturnType<typeof cfg>, Technique, RegExp]> = [
    ['nothing known', chain.map(() => undefined), cfg({}), 'proxy', /default/],
    ['configured redirect for the vendor', chain.map(() => undefined), cfg({ 'sip/polycom': 'redirect' }), 'redirect', /configured for sip\/polycom/],
    ['redirect proven at the product level', at(1, cls('sip/polycom/hdx 8000', { redirect: counter(5, 0) })), cfg({}), 'redirect', /proven for sip\/polycom\/hdx 8000/],
    ['proven needs provenAfter successes', at(1, cls('sip/polycom/hdx 8000', { redirect: counter(1, 0) })), cfg({}), 'proxy', /default/],
    ['broken at the version level vetoes the configured vendor redirect', at(0, cls('sip/polycom/hdx 8000/3.1.2', { redirect: counter(0, 2) }, { redirect: ['a', 'b'] })), cfg({ 'sip/polycom': 'redirect' }), 'proxy', /breaks on redirect/],
    ['one caller cannot flip a class', at(0, cls('sip/polycom/hdx 8000/3.1.2', { redirect: counter(0, 5) }, { redirect: ['a'] })), cfg({ 'sip/polycom': 'redirect' }), 'redirect', /configured/],
    ['a vendor-level break does not override a configured product setting', at(2, cls('sip/polycom', { redirect: counter(0, 4) }, { redirect: ['a', 'b'] })), cfg({ 'sip/polycom/hdx 8000': 'redirect' }), 'redirect', /configured for sip\/polycom\/hdx 8000/],
    ['protocol-level records do not speak for a class', at(3, cls('sip', { redirect: counter(9, 0) })), cfg({}), 'proxy', /default/],
    ['admin override wins over a break', [cls('sip/polycom/hdx 8000/3.1.2', { redirect: counter(0, 9) }, { redirect: ['a', 'b'] }, { override: { technique: 'redirect', at: 1, by: 'ops' } })], cfg({}), 'redirect', /admin override/],
    ['a default of redirect is vetoed by a break too', at(0, cls('sip/polycom/hdx 8000/3.1.2', { redirect: counter(1, 3) }, { redirect: ['a', 'b'] })), cfg({}, 'redirect'), 'proxy', /default redirect, but/],
    ['a more specific success record beats a vendor break', [cls('v', { redirect: counter(3, 0) }), undefined, cls('sip/polycom', { redirect: counter(0, 5) }, { redirect: ['a', 'b'] })], cfg({}), 'redirect', /proven/],
  ];
  for (const [name, profiles, config, want, why] of cases) {
    const c = chooseTechnique(chain, profiles, config, policy);
    t.equal(c.technique, want, name);
    t.match(c.reason, why, `${name}: reason`);
  }
});

t.test('probation: one unproven redirect of a class at a time; proven classes are not held back', async (t) => {
  const chain = classChain(polycom);
  const cfg = { default: 'proxy' as Technique, classes: { 'sip/polycom': 'redirect' as Technique } };
  const none5 = chain.map(() => undefined);
  const waiting = new Map([[chain[0]!.key, 1]]);
  t.equal(chooseTechnique(chain, none5, cfg, policy).technique, 'redirect');
  const held = chooseTechnique(chain, none5, cfg, policy, waiting);
  t.equal(held.technique, 'proxy');
  t.match(held.reason, /not yet proven and 1 redirect\(s\) of .* await their arrival/);
  const proven = [cls(chain[0]!.key, { redirect: counter(3, 0) })];
  t.equal(chooseTechnique(chain, proven, cfg, policy, waiting).technique, 'redirect', 'a proven class redirects as much as it likes');
  const r = request();
  const d = decide(r, none(r), topology({ techniques: cfg }), live({}, 1_000_000, { [chain[0]!.key]: 1 }));
  t.equal(d.technique, 'local', 'through decide() too');
});

t.test('verdicts', async (t) => {
  t.equal(verdictOf(undefined, undefined, policy), 'unknown');
  t.equal(verdictOf(counter(0, 2), ['a', 'b'], policy), 'broken');
  t.equal(verdictOf(counter(2, 2), ['a', 'b'], policy), 'unknown', 'as many successes as failures: neither');
  t.equal(verdictOf(counter(8, 2), ['a', 'b'], policy), 'proven');
  t.equal(verdictOf(counter(7, 2), [], policy), 'unknown', 'under the proven ratio');
  t.ok(meetingMatches('acme-1', ['acme-*']));
  t.notOk(meetingMatches('acme', ['acme-*']));
  t.ok(meetingMatches('board', ['board']));
});

t.test('property: a decision is deterministic, only names accessible servers, and the first candidate is the server', async () => {
  const topo = topology();
  const names = topo.servers.map((s) => s.name);
  fc.assert(
    fc.property(
      fc.record({
        units: fc.dictionary(fc.constantFrom(...names), fc.integer({ min: 0, max: 120 })),
        down: fc.subarray(names),
        exclude: fc.subarray(names),
        geo: fc.constantFrom('ams', 'iad', 'sgp', ''),
        workType: fc.constantFrom('reflector', 'transcoder', 'recorder'),
        rtt: fc.dictionary(fc.constantFrom('ams', 'iad', 'sgp'), fc.integer({ min: 1, max: 300 })),
        acme: fc.boolean(),
      }),
      (x) => {
        const r = request({ exclude: x.exclude, geo: { country: '', continent: '', pop: x.geo }, workType: x.workType, ...(x.acme ? { customer: 'acme', meeting: 'board', networks: [{ key: 'net:acme', physical: true, name: 'acme' }] } : {}) });
        const snap: ProfileSnapshot = { classes: r.chain.map(() => undefined), networks: [net('k', { pops: Object.fromEntries(Object.entries(x.rtt).map(([p, v]) => [p, { rtt: v, n: 1 }])) })] };
        const l = live(Object.fromEntries(names.map((n) => [n, { units: x.units[n] ?? 0, up: !x.down.includes(n) }])));
        const a = decide(r, snap, topo, l);
        const b = decide(r, snap, topo, l);
        if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('not deterministic');
        for (const c of a.candidates) {
          if (x.down.includes(c.server) || x.exclude.includes(c.server)) throw new Error(`unusable ${c.server} offered`);
          const s = topo.servers.find((y) => y.name === c.server)!;
          if (s.workTypes[x.workType] === undefined) throw new Error('wrong work type');
          if (c.pop === 'acme-hq' && !x.acme) throw new Error('micro POP leaked');
        }
        if (a.server !== (a.candidates[0]?.server ?? '')) throw new Error('server is not the first candidate');
        if (a.reasons.length < 3) throw new Error('unexplained');
      },
    ),
    { numRuns: 500 },
  );
});
