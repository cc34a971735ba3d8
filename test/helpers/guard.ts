import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileTag, killTagged, TAG_VAR, TEST_TMP } from './leftovers.js';
import { ROOT } from './paths.js';

/**
 * Loaded into every test process before the test file (`node-arg` in .taprc). It
 * - tags this process's environment with the test file's identity, so that every process started
 *   from here, by any means, carries the tag;
 * - kills what an earlier, interrupted run of the same file left running, and empties that run's
 *   temporary folder;
 * - kills everything it started when the file ends, however it ends: normal exit, a failure, or a
 *   signal from the runner (a timeout);
 * - starts the file only while no heavy lab holds or waits for its turn, and counts it as running
 *   until it ends, so that a heavy lab runs alone (heavy.ts).
 * Processes started through procs.ts also run in their own process group and are stopped as a group.
 */
const script = process.argv[1] ?? '';
export const testFile = /\.test\.[cm]?[jt]s$/.test(script) ? relative(ROOT, script).replace(/^dist\//, '').replace(/\.js$/, '.ts') : undefined;

/** This file's own temporary folder (its processes' working folders, configs, logs). */
export const fileTemp = testFile ? join(TEST_TMP, testFile.replace(/[^A-Za-z0-9]+/g, '_')) : join(TEST_TMP, `pid_${process.pid}`);

/** The turn of the heavy labs (heavy.ts): the lock file, and the pids of the files running beside one and of those waiting for one. */
export const HEAVY_LOCK = join(TEST_TMP, 'heavy-lab.lock');
export const lightDir = (lock: string): string => join(dirname(lock), 'heavy-light');
export const wantDir = (lock: string): string => join(dirname(lock), 'heavy-want');

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The live pids named in `dir` other than `except`; the names of gone processes are removed. */
export function livePids(dir: string, except = process.pid): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const n of names) {
    const pid = Number(n);
    if (!Number.isInteger(pid) || pid <= 0 || pid === except) continue;
    if (alive(pid)) out.push(pid);
    else rmSync(join(dir, n), { force: true });
  }
  return out;
}

/**
 * A file counts as running beside the heavy labs from its start; it starts only while none holds
 * or waits for the turn (registered first, then checked, as a heavy lab says it waits first, then
 * checks: one of the two always sees the other).
 */
async function lightTurn(lock: string): Promise<void> {
  const dir = lightDir(lock);
  mkdirSync(dir, { recursive: true });
  const me = join(dir, String(process.pid));
  for (;;) {
    writeFileSync(me, '');
    if (livePids(wantDir(lock)).length === 0) break;
    rmSync(me, { force: true });
    await new Promise((r) => setTimeout(r, 250));
  }
  process.on('exit', () => rmSync(me, { force: true }));
}

if (testFile) {
  const mine = `${fileTag(testFile)}${process.pid}`;
  killTagged(fileTag(testFile));
  rmSync(fileTemp, { recursive: true, force: true });
  mkdirSync(fileTemp, { recursive: true });
  process.env[TAG_VAR] = mine;
  const cleanup = (): void => {
    killTagged(mine);
    rmSync(fileTemp, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      cleanup();
      // The runner's own handlers still see the signal once this one is gone.
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
  // The file's deadline (procs.ts) starts once this wait is over: the test files import procs.ts after this module.
  await lightTurn(HEAVY_LOCK);
}
