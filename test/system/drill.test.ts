import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { heavyTurn } from '../helpers/heavy.js';
import { requireBuild, tempDir } from '../helpers/procs.js';
import { fromRoot } from '../helpers/paths.js';

/**
 * The short failover drill (root): the whole lab in network namespaces (vcpt-dr-*), real keepalived,
 * BIRD, layer 1, connectors and sipp; pair takeover, POP move and failback, with --functional: on a
 * machine of unknown load the recovery times are printed figures, not assertions (the sub-second
 * targets belong to `scripts/drill --rounds N`). Asserted: the address moves, new calls succeed
 * again after each fault, no call is lost on a node that did not fail, failback as the policy says
 * (with flows pinned at the router, no call in progress at POP b is cut), nothing is left behind.
 */
const PREFIX = 'vcpt-dr';
const DRILL = fromRoot('scripts/drill');
const root = process.getuid?.() === 0;
const TOOLS = ['ip', 'bird', 'birdc', 'keepalived', 'sipp', 'curl', 'arping', 'nft'];
const missing = TOOLS.filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);

interface Fig {
  scenario: string;
  recoveryMs: number | null;
  gapMs: number | null;
  calls?: { calls: number; lost: number; lostOnFailed: number; lostOnSurvivors: number };
  targets: string[];
  missed: string[];
  detail: Record<string, unknown>;
}

interface Report {
  figures: Fig[];
  runDir: string;
  startup?: { totalMs: number; pops: Array<{ pop: string; totalMs: number }> };
}

/** Processes whose command line names the run dir: what the lab started and might have left. */
function processesOf(dir: string): string[] {
  const left: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(dir)) left.push(`${pid} ${cmd.slice(0, 120)}`);
    } catch {
      // gone
    }
  }
  return left;
}

t.test('short drill: pair takeover, POP move, failback', { skip: !root ? 'the drill builds network namespaces: it needs root' : false }, async (t) => {
  t.same(missing, [], `the drill's tools are installed (run ./scripts/install --test for ${missing.join(', ')})`);
  if (missing.length > 0) return;
  requireBuild();
  const release = await heavyTurn('the drill', (l) => t.comment(l));
  const dir = tempDir('drill');
  const json = join(dir, 'figures.json');
  // Its own process group: whatever happens to this test, the group goes with it.
  const child = spawn(DRILL, ['--short', '--functional', '--prefix', PREFIX, '--json', json], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let runDir = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // SIGTERM: the drill removes its lab itself; then the group, then what might remain.
      process.kill(-child.pid!, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // gone
          }
          resolve();
        }, 30_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        if (child.exitCode !== null || child.signalCode !== null) resolve();
      });
    }
    spawnSync(DRILL, ['--cleanup', '--prefix', PREFIX]);
    // A drill that missed a target keeps its run dir (logs, sipp traces) for a look: the test does not.
    if (runDir) rmSync(runDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    release();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  t.equal(code, 0, `the drill meets its functional targets\n${out.slice(-5000)}`);
  t.ok(existsSync(json), 'figures written');
  const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
  runDir = report.runDir;
  const byName = new Map(report.figures.map((f) => [f.scenario, f]));
  const ms = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : `${v} ms`);

  const pair = byName.get('pair takeover');
  t.ok(pair, 'pair takeover measured');
  t.ok(pair?.recoveryMs !== null && pair?.recoveryMs !== undefined, 'new calls succeed again after the active layer-1 node dies');
  t.equal(pair?.calls?.lostOnSurvivors, 0, 'no call lost on the nodes that survived the pair takeover');
  t.ok((pair?.calls?.calls ?? 0) > 0, 'calls were running during the takeover');
  t.equal(pair?.detail.returnBlipProbes, 0, 'no second blip when the node returns (nopreempt)');

  const move = byName.get('POP move');
  t.ok(move, 'POP move measured');
  t.ok(move?.recoveryMs !== null && move?.recoveryMs !== undefined, 'new calls succeed again via POP b after POP a goes');
  t.equal(move?.calls?.lostOnSurvivors, 0, 'no call lost on POP b');

  const back = byName.get('failback');
  t.ok(back, 'failback measured');
  t.same(back?.missed, [], 'failback as the policy says: POP a takes the address back, no call lost at POP a');
  t.equal(back?.calls?.lostOnFailed, 0, 'no call in progress at POP b cut: flows are pinned at the router');
  t.ok(Number(back?.detail.callsKeptOnOldPop) > 0, `calls in progress at POP b ended there (${String(back?.detail.callsKeptOnOldPop)})`);

  t.same(report.figures.flatMap((f) => f.missed), [], 'no functional target missed');
  // Figures, not assertions: the load of this machine is unknown.
  t.comment(`lab up in ${ms(report.startup?.totalMs)} (${(report.startup?.pops ?? []).map((p) => `POP ${p.pop} ${p.totalMs} ms`).join(', ')}); pair takeover back after ${ms(pair?.recoveryMs)}, POP move ${ms(move?.recoveryMs)}, failback gap ${ms(back?.gapMs)}`);

  t.match(out, /removing every namespace and process of the lab/);
  const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(`${PREFIX}-`));
  t.same(left, [], 'the drill removed its namespaces (their veths and nftables tables with them)');
  t.same(processesOf(report.runDir), [], 'and every process it started');
  if (code === 0) t.notOk(existsSync(report.runDir), 'and its run dir');
});
