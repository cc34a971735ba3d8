import { closeSync, mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { alive, HEAVY_LOCK, lightDir, livePids, wantDir } from './guard.js';
import { extendDeadline, sleep } from './procs.js';

/**
 * A heavy lab runs alone: the failover drill (two POPs of a dozen processes each, routers and BGP),
 * the package's container (apt, dpkg, systemd), the Vagrant lab (LXC) and the SIP load tests (200
 * calls/s each way, through reloads in one of them) each load both cores for minutes; beside another
 * file, each made the other's timing what was tested. So one at a time, and while one runs the other
 * runner slot waits: a file starts only while no heavy lab holds or waits for the turn (guard.ts),
 * and a heavy lab waits until the files already running beside it have ended.
 *
 * A lock file in the checkout's test folder holds the pid of the test process that has the turn, and
 * a folder beside it the pids of those waiting for it; a process that is gone does not count. The
 * turn ends with `release`, or with the process. Time spent waiting does not count against a file's
 * deadline; the runner's per-file timeout allows for it (scripts/test).
 */
function holder(lock: string): number | undefined {
  try {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Waits for the turn (the runner's per-file timeout bounds the wait; the file's own deadline moves by it); returns its release. */
export async function heavyTurn(what: string, log: (line: string) => void = () => undefined, lock = HEAVY_LOCK): Promise<() => void> {
  mkdirSync(dirname(lock), { recursive: true });
  const since = Date.now();
  // Said first, then checked (guard.ts registers a file first, then checks): no file starts from now on.
  const want = join(wantDir(lock), String(process.pid));
  mkdirSync(wantDir(lock), { recursive: true });
  writeFileSync(want, '');
  rmSync(join(lightDir(lock), String(process.pid)), { force: true });
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
  for (let first = true; ; first = false) {
    const running = livePids(lightDir(lock));
    if (running.length === 0) break;
    if (first) log(`${what}: waiting for the test files running beside it to end (processes ${running.join(', ')})`);
    await sleep(250);
  }
  extendDeadline(Date.now() - since);
  const release = (): void => {
    process.off('exit', release);
    rmSync(want, { force: true });
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
