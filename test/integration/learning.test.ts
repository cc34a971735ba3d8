import t from 'tap';
import { execFileSync } from 'node:child_process';
import { analyse, runLearningSimulation, POP_ADDRESS } from '../../scripts/sim/learning.js';
import { requireBuild, sippPath } from '../helpers/procs.js';

// The learning simulation (scripts/sim/learning.ts): addresses 127.0.7.0/24 and 127.0.40-42.0/24,
// and an nftables table of its own for the firewall of one network.
t.before(() => {
  requireBuild();
  sippPath();
  execFileSync('sh', ['-c', 'command -v nft'], { stdio: 'ignore' });
});

t.test('a mixed population: wrong techniques stop failing after ≤ 2 calls per class, ≤ 1 per (network, server)', async (t) => {
  const rounds = 5;
  const { calls } = await runLearningSimulation({ rounds, gapMs: 350 });
  const a = analyse(calls);
  t.equal(calls.length, rounds * 8, 'every call of the schedule was placed');
  for (const [cls, failed] of Object.entries(a.perClass)) t.ok(failed <= 2, `class ${cls}: ${failed} failed call(s) ≤ 2`);
  for (const [pair, failed] of Object.entries(a.perNetworkPop)) t.ok(failed <= 1, `${pair}: ${failed} failed call(s) ≤ 1`);
  for (const [cls, s] of Object.entries(a.settled)) {
    t.ok(s.lastFailure < 2 * (s.calls / rounds), `class ${cls}: failures only in its first two rounds (last at call ${s.lastFailure} of ${s.calls})`);
  }
  t.ok(a.perClass.drop! >= 1, 'the class that drops redirects was tried with one (configured) before learning');
  t.ok(a.perNetworkPop['n3 → POP b'] === 1, 'the firewalled network failed once towards the POP it cannot reach');
  const last = calls.slice(-8);
  const where = (c: (typeof calls)[number]): string => (c.redirectedTo ? `302 → ${POP_ADDRESS[c.redirectedTo.split(':')[0]!]}` : 'proxied');
  t.same(
    last.map((c) => `${c.member} ${c.network}: ${c.ok ? 'ok' : 'failed'}, ${where(c)}`),
    [
      'follow n1: ok, 302 → a', 'follow n2: ok, 302 → b', 'follow n3: ok, 302 → a',
      'drop n1: ok, proxied', 'drop n2: ok, proxied', 'drop n3: ok, proxied',
      'polycom n1: ok, proxied', 'polycom n3: ok, proxied',
    ],
    'after learning: redirects where they work (n3 sent to the POP it reaches), proxy for the class that drops them',
  );
});
