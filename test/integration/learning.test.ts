import t from 'tap';
import { analyse, DEFAULT_POPULATION, runLearningSimulation, POP_ADDRESS } from '../../scripts/sim/learning.js';
import { remaining, requireBuild, requireTool, sippPath } from '../helpers/procs.js';

// The learning simulation (scripts/sim/learning.ts): addresses 127.0.7.0/24 and 127.0.40-42.0/24,
// and an nftables table of its own for the firewall of one network.
t.before(() => {
  requireBuild();
  sippPath();
  requireTool('nft', 'nftables');
});

t.test('a mixed population: wrong techniques stop failing after ≤ 2 calls per class, ≤ 1 per (network, server)', async (t) => {
  const rounds = 5;
  const perRound = DEFAULT_POPULATION.reduce((n, m) => n + m.networks.length, 0);
  const { calls } = await runLearningSimulation({ rounds, gapMs: 350, startTimeoutMs: remaining() });
  const a = analyse(calls);
  t.equal(calls.length, rounds * perRound, 'every call of the schedule was placed');
  for (const [cls, failed] of Object.entries(a.perClass)) t.ok(failed <= 2, `class ${cls}: ${failed} failed call(s) ≤ 2`);
  for (const [pair, failed] of Object.entries(a.perNetworkPop)) t.ok(failed <= 1, `${pair}: ${failed} failed call(s) ≤ 1`);
  for (const [cls, s] of Object.entries(a.settled)) {
    t.ok(s.lastFailure < 2 * (s.calls / rounds), `class ${cls}: failures only in its first two rounds (last at call ${s.lastFailure} of ${s.calls})`);
  }
  t.ok(a.perClass.drop! >= 1 && a.perClass['h323-drop']! >= 1, 'the SIP and H.323 classes that drop redirects were tried with one (configured) before learning');
  t.equal(a.total.failed > 0, true);
  t.ok(Object.values(a.perNetworkPop).reduce((x, y) => x + y, 0) <= 1, 'the firewalled network failed at most once towards the POP it cannot reach');
  const last = calls.slice(-perRound);
  const popOf = (c: (typeof calls)[number]): string => POP_ADDRESS[c.redirectedTo.split(':')[0]!] ?? '';
  for (const c of last) {
    const m = DEFAULT_POPULATION.find((x) => x.name === c.member)!;
    t.ok(c.ok, `last round: ${c.member} from ${c.network} completed`);
    if (m.behaviour === 'drop' || !m.configured) t.equal(c.redirectedTo, '', `last round: ${c.member} from ${c.network} is proxied`);
    else t.equal(popOf(c), c.network === 'n2' ? 'b' : 'a', `last round: ${c.member} from ${c.network} is redirected where it can go (n3 never to POP b)`);
  }
});
