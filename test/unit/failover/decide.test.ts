import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../../shared/config/load.js';
import { parseProtocols, parseRoutes } from '../../../scripts/failover/birdc.js';
import { announceOf, carrierOf } from '../../../scripts/failover/edge-control.js';
import { Debounce, tiersVerdict, tierProbes } from '../../../scripts/failover/health.js';
import { decide, type PolicyInput } from '../../../scripts/failover/policy.js';
import { fixture as fixturePath, fromRoot } from '../../helpers/paths.js';

const LAB = fromRoot('config/examples/failover-lab.yaml');
const config = parseConfig(readFileSync(LAB, 'utf8'), LAB);
const fixture = (name: string): string => readFileSync(fixturePath('bird', name), 'utf8');

const base: PolicyInput = {
  isPrimary: true,
  anycast: true,
  failback: 'automatic',
  healthy: true,
  override: undefined,
  carrier: undefined,
  sessionsReady: true,
  current: 'none',
  carriedBefore: false,
};
const B = { pop: 'b', backup: true };
const B_FORCED = { pop: 'b', backup: false };
const A = { pop: 'a', backup: false };

t.test('the cross-POP policy, case by case', async (t) => {
  const cases: Array<[string, Partial<PolicyInput>, string]> = [
    ['operator release wins over everything', { override: 'release', current: 'active' }, 'none'],
    ['an unhealthy POP withdraws', { healthy: false, current: 'active' }, 'none'],
    ['an unhealthy POP withdraws even after a takeover', { healthy: false, override: 'takeover' }, 'none'],
    ['operator takeover on a secondary', { isPrimary: false, override: 'takeover', carrier: A }, 'active'],
    ['healthy primary announces', {}, 'active'],
    ['healthy primary keeps announcing', { current: 'active', carrier: B }, 'active'],
    ['anycast, automatic failback: primary returns over a backup', { carrier: B, carriedBefore: true }, 'active'],
    ['anycast, manual failback: primary that lost the address waits', { failback: 'manual', carrier: B, carriedBefore: true }, 'none'],
    ['anycast, manual failback: cold start of the primary announces', { failback: 'manual', carrier: B, carriedBefore: false }, 'active'],
    ['manual failback, nobody carries: the primary announces', { failback: 'manual', carriedBefore: true }, 'active'],
    ['manual failback: a returning primary first learns who carries', { failback: 'manual', carriedBefore: true, sessionsReady: false }, 'none'],
    ['manual failback: a carrying primary keeps it while its session settles', { failback: 'manual', carriedBefore: true, sessionsReady: false, current: 'active' }, 'active'],
    ['anycast off, automatic: primary pushes a backup announcement away', { anycast: false, carrier: B, carriedBefore: true }, 'active'],
    ['anycast off: primary does not push an operator takeover away', { anycast: false, carrier: B_FORCED }, 'none'],
    ['anycast off, manual: primary that lost it waits', { anycast: false, failback: 'manual', carrier: B, carriedBefore: true }, 'none'],
    ['anycast: secondary keeps a standby announcement', { isPrimary: false, carrier: A }, 'backup'],
    ['anycast: secondary announces before its session settles', { isPrimary: false, sessionsReady: false }, 'backup'],
    ['anycast off: secondary yields to the carrier', { isPrimary: false, anycast: false, carrier: A, current: 'backup' }, 'none'],
    ['anycast off: secondary waits for its session', { isPrimary: false, anycast: false, sessionsReady: false }, 'none'],
    ['anycast off: secondary takes the address when nobody carries', { isPrimary: false, anycast: false }, 'backup'],
    ['anycast off: secondary unhealthy stays out', { isPrimary: false, anycast: false, healthy: false }, 'none'],
    ['no pair member holds the address: the primary does not start announcing', { held: false }, 'none'],
    ['no pair member holds the address: nor does a secondary', { isPrimary: false, held: false }, 'none'],
    ['the address held: the primary announces', { held: true }, 'active'],
    ['already announcing: the ARP check does not apply (a pair takeover is not a withdrawal)', { held: false, current: 'active' }, 'active'],
    ['an operator takeover waits for a holder too', { override: 'takeover', held: false }, 'none'],
  ];
  for (const [name, over, want] of cases) {
    const d = decide({ ...base, ...over });
    t.equal(d.announce, want, `${name}: ${d.reason}`);
    t.ok(d.reason.length > 10, 'says why');
  }
});

t.test('health: probes of the local tiers, the verdict and its debounce', async (t) => {
  const probes = tierProbes(config, 'a');
  t.same(
    probes.map((p) => p.url),
    ['http://10.99.11.11:9102/health', 'http://10.99.11.12:9102/health', 'http://10.99.11.21:18080/health', 'http://10.99.11.22:18080/health'],
  );
  const up = (...ids: string[]): Map<string, boolean> => new Map(probes.map((p) => [p.id, ids.includes(p.id)]));
  t.equal(tiersVerdict(probes, up('layer1/a2', 'connector/ca2/0'), 1).ok, true, 'one member and one worker are enough');
  t.match(tiersVerdict(probes, up('connector/ca1/0', 'connector/ca2/0'), 1), { ok: false, reason: /no layer-1 member answers/ });
  t.match(tiersVerdict(probes, up('layer1/a1'), 1), { ok: false, reason: /layer 1 1\/2 up, connector workers 0\/2 up: fewer than 1/ });
  t.equal(tiersVerdict(probes, up('layer1/a1', 'connector/ca1/0'), 2).ok, false, 'minConnectorWorkers counts');

  const d = new Debounce(3, 2, false);
  t.same([true, true].map((v) => d.push(v)), [false, true], 'rise 2');
  t.same([false, false, true, false, false, false].map((v) => d.push(v)), [true, true, true, true, true, false], 'fall 3, a good probe resets the streak');
});

t.test('BIRD output: protocols, routes and who carries the address', async (t) => {
  const protocols = parseProtocols(fixture('show-protocols.txt'));
  t.same(protocols.map((p) => [p.name, p.state]), [['device1', 'up'], ['vcp_bfd', 'up'], ['vcp_wk', 'down'], ['vcp_wk_backup', 'down'], ['vcp_up1', 'up']]);
  t.equal(protocols.find((p) => p.name === 'vcp_up1')!.info, 'Established');
  t.equal(announceOf(protocols), 'none');
  t.equal(announceOf([{ name: 'vcp_wk_backup', proto: 'Static', state: 'up', info: '' }]), 'backup');
  t.equal(announceOf([{ name: 'vcp_wk', proto: 'Static', state: 'up', info: '' }, { name: 'vcp_wk_backup', proto: 'Static', state: 'up', info: '' }]), 'active');

  const other = parseRoutes(fixture('route-other-carries.txt'));
  t.same(other, [{ proto: 'vcp_up1', best: true, asPath: [64500, 64512, 64512, 64512, 64512] }]);
  t.same(carrierOf(config, other).carrier, { pop: 'b', backup: true }, 'B carries with a backup announcement');

  const both = parseRoutes(fixture('route-own-and-other.txt'));
  t.same(both.map((r) => [r.proto, r.best]), [['vcp_wk_backup', true], ['vcp_up1', false]]);
  t.same(carrierOf(config, both), { carrier: { pop: 'a', backup: false }, path: [64500, 64511] }, 'A carries; our own route does not count');

  t.same(carrierOf(config, parseRoutes(fixture('route-own-only.txt'))).carrier, undefined, 'only our own route: nobody else carries');
  t.same(parseRoutes(fixture('route-not-found.txt')), []);
  t.same(carrierOf(config, [{ proto: 'vcp_up1', best: true, asPath: [64500, 65000] }]).carrier, { pop: 'AS 65000', backup: false }, 'an AS that is no POP of ours is named by number');
});
