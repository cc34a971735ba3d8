import t from 'tap';
import { parseConfig } from '../../../shared/config/load.js';
import { applyInPlace, changedSections } from '../../../shared/config/live.js';
import { planReload, type RunningWorker } from '../../../layer2/reload.js';

const yaml = (o: { workers?: number; sip?: number; readCacheMs?: number; technique?: string } = {}): string => `
pop: t
wellKnown: { address: 192.0.2.1 }
pops: [ { name: t } ]
connectors:
  - { name: c, pop: t, address: 192.0.2.2, workers: ${o.workers ?? 2}, ports: { sipProxied: 15060, sip: ${o.sip ?? 25060}, health: 18080 } }
servers: [ { name: b, pop: t, address: 192.0.2.10, sipPort: 5060 } ]
techniques: { default: ${o.technique ?? 'proxy'}, classes: {} }
profiles: { path: /var/lib/vcproxy/profiles, readCacheMs: ${o.readCacheMs ?? 250} }
`;
const cfg = (o: Parameters<typeof yaml>[0] = {}) => parseConfig(yaml(o), '/etc/vcproxy/vcproxy.yaml');
const running = (c: ReturnType<typeof cfg>, code = 'A'): Map<number, RunningWorker> => new Map(c.connectors[0]!.endpoints.map((e) => [e.index, { endpoint: e, code }]));

t.test('topology, policy and limits apply at once; nothing is replaced', async (t) => {
  const a = cfg();
  const p = planReload(running(a), a, cfg({ technique: 'redirect' }), 'c', 'A');
  t.same(p.reconfigure, [0, 1]);
  t.same(p.replace, []);
  t.same(p.changed, ['techniques']);
});

t.test('new code on disk replaces every worker; so does a section read at start', async (t) => {
  const a = cfg();
  t.same(planReload(running(a), a, a, 'c', 'B').replace.map((r) => r.why), ['new code was installed', 'new code was installed']);
  t.same(planReload(running(a), a, cfg({ readCacheMs: 300 }), 'c', 'A').replace.map((r) => r.why), ['profiles changed', 'profiles changed']);
});

t.test('changed ports replace the workers; more or fewer workers add or remove', async (t) => {
  const a = cfg();
  t.same(planReload(running(a), a, cfg({ sip: 26060 }), 'c', 'A').replace.map((r) => r.index), [0, 1]);
  const more = planReload(running(a), a, cfg({ workers: 4 }), 'c', 'A');
  t.same([more.reconfigure, more.add, more.remove], [[0, 1], [2, 3], []]);
  const fewer = planReload(running(a), a, cfg({ workers: 1 }), 'c', 'A');
  t.same([fewer.reconfigure, fewer.add, fewer.remove], [[0], [], [1]]);
});

t.test('applyInPlace keeps the objects modules hold and gives them the new values', async (t) => {
  const a = cfg();
  const sip = a.sip;
  const servers = a.servers;
  applyInPlace(a, cfg({ technique: 'redirect', readCacheMs: 300 }));
  t.equal(a.sip, sip, 'the sip section is the same object');
  t.equal(a.servers, servers, 'the servers list is the same array');
  t.equal(a.techniques.default, 'redirect');
  t.equal(a.profiles.readCacheMs, 300);
  t.same(changedSections(a, cfg({ technique: 'redirect', readCacheMs: 300 })), []);
});
