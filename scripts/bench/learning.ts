import { parseArgs } from 'node:util';
import { analyse, curve, DEFAULT_POPULATION, runLearningSimulation } from '../sim/learning.js';

/**
 * The learning curve: the mixed population of the learning simulation over many rounds, printed as
 * failed calls per round and the failures per class and per (network, POP).
 *   node dist/scripts/bench/learning.js [--rounds 12] [--gap 350] [--verbose]
 */
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '12' }, gap: { type: 'string', default: '350' }, verbose: { type: 'boolean' } } });
const { calls } = await runLearningSimulation({ rounds: Number(values.rounds), gapMs: Number(values.gap), verbose: values.verbose ?? false });
const a = analyse(calls);
process.stdout.write('round  calls  failed  redirected  curve\n');
const perRound = DEFAULT_POPULATION.reduce((n, m) => n + m.networks.length, 0);
for (const [i, w] of curve(calls, perRound).entries()) {
  process.stdout.write(`${String(i + 1).padStart(5)}  ${String(w.calls).padStart(5)}  ${String(w.failed).padStart(6)}  ${String(w.redirected).padStart(10)}  ${'#'.repeat(w.failed)}\n`);
}
process.stdout.write(`\nfailed calls per class: ${JSON.stringify(a.perClass)}\n`);
process.stdout.write(`failed calls per (network → POP): ${JSON.stringify(a.perNetworkPop)}\n`);
process.stdout.write(`total: ${a.total.failed} failed of ${a.total.calls}\n`);
