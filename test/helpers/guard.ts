import { mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileTag, killTagged, TAG_VAR, TEST_TMP } from './leftovers.js';
import { ROOT } from './paths.js';

/**
 * Loaded into every test process before the test file (`node-arg` in .taprc). It
 * - tags this process's environment with the test file's identity, so that every process started
 *   from here, by any means, carries the tag;
 * - kills what an earlier, interrupted run of the same file left running, and empties that run's
 *   temporary folder;
 * - kills everything it started when the file ends, however it ends: normal exit, a failure, or a
 *   signal from the runner (a timeout).
 * Processes started through procs.ts also run in their own process group and are stopped as a group.
 */
const script = process.argv[1] ?? '';
export const testFile = /\.test\.[cm]?[jt]s$/.test(script) ? relative(ROOT, script).replace(/^dist\//, '').replace(/\.js$/, '.ts') : undefined;

/** This file's own temporary folder (its processes' working folders, configs, logs). */
export const fileTemp = testFile ? join(TEST_TMP, testFile.replace(/[^A-Za-z0-9]+/g, '_')) : join(TEST_TMP, `pid_${process.pid}`);

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
}
