import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dist, start, waitFor } from '../helpers/procs.js';

// A benchmark stopped by a signal (Ctrl-C, `kill`) stops what it started: Kamailio, HAProxy, sipp and
// the appliance's processes must not be left running, holding the benchmark's addresses, nor its
// temporary folders left behind.

/** Gone, or a zombie waiting for whoever inherited it to reap it. */
const gone = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
};

for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  t.test(`on ${signal} the benchmark stops every process it started, removes its folders, then exits`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vcp-bench-lab-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, 'bench.mjs');
    // One child started as the benchmarks start theirs, and one leading a process group of its own
    // (detached) whose own child must go too.
    writeFileSync(
      script,
      `import { spawn } from 'node:child_process';
import { labDir, spawnQuiet, track } from ${JSON.stringify(dist('scripts/bench/lab.js'))};
console.log('DIR ' + labDir('vcp-bench-lab-test-'));
const quiet = spawnQuiet('sleep', ['600']);
const group = track(spawn('sh', ['-c', 'sleep 600 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true }), true);
group.stdout.once('data', (d) => console.log('PIDS ' + JSON.stringify([quiet.pid, group.pid, Number(String(d).trim())])));
setInterval(() => {}, 1000);
`,
    );
    const bench = start(process.execPath, [script]);
    t.teardown(() => bench.stop('SIGKILL'));
    let pids: number[] = [];
    await waitFor('the benchmark to start its processes', () => {
      const m = /^PIDS (\[.*\])$/m.exec(bench.output());
      if (m) pids = JSON.parse(m[1]!) as number[];
      return pids.length === 3;
    }, 30_000);
    t.ok(pids.every((p) => !gone(p)), 'they run');
    const folder = /^DIR (.+)$/m.exec(bench.output())?.[1] ?? '';
    t.teardown(() => rmSync(folder, { recursive: true, force: true }));
    t.ok(folder !== '' && existsSync(folder), `its folder exists (${folder})`);
    // The benchmark alone gets the signal, as from `kill`: its process group is not signalled.
    bench.child.kill(signal);
    t.equal(await bench.exited, code, `it exits with 128 + the signal's number`);
    await waitFor('every process it started to be gone', () => pids.every(gone), 10_000);
    t.pass(`the child, the group's leader and the leader's own child are gone (${pids.join(', ')})`);
    t.notOk(existsSync(folder), 'its folder is removed');
  });
}
