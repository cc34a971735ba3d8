import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TEST_TMP } from './leftovers.js';
import { extendDeadline, sleep } from './procs.js';

/**
 * One heavy lab at a time: the failover drill (two POPs of a dozen processes each, routers and BGP),
 * the package's container (apt, dpkg, systemd) and the Vagrant lab (LXC) each load both cores for
 * minutes, and two of them side by side make each other's timing what is tested; the SIP load tests
 * (200 calls/s each way, through reloads in one of them) take their turns too. The runner still
 * runs two files at once: the other slot goes on with lighter files while one of these waits.
 *
 * A lock file in the checkout's test folder holds the pid of the test process that has the turn; a
 * holder that is gone does not count. The turn ends with `release`, or with the process.
 */
const LOCK = join(TEST_TMP, 'heavy-lab.lock');

function holder(lock: string): number | undefined {
  try {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Waits for the turn (the runner's per-file timeout bounds the wait; the file's own deadline moves by it); returns its release. */
export async function heavyTurn(what: string, log: (line: string) => void = () => undefined, lock = LOCK): Promise<() => void> {
  mkdirSync(dirname(lock), { recursive: true });
  const since = Date.now();
  let said = false;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = holder(lock);
    if (pid === undefined || pid === process.pid || !alive(pid)) {
      try {
        unlinkSync(lock);
      } catch {
        // taken and freed by another waiter meanwhile
      }
      continue;
    }
    if (!said) {
      log(`${what}: waiting for the heavy lab of process ${pid} to end`);
      said = true;
    }
    await sleep(500);
  }
  extendDeadline(Date.now() - since);
  const release = (): void => {
    process.off('exit', release);
    if (holder(lock) === process.pid) {
      try {
        unlinkSync(lock);
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', release);
  return release;
}
