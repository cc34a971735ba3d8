import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { withAllocatorTuning } from '../../shared/allocator.js';

/** Small process and wait helpers shared by the benchmarks. */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs a shell command; its trimmed stdout, or '' when it fails. */
export const sh = (cmd: string): string => {
  try {
    return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
};

/** The processes a benchmark started that still run, with whether each leads a process group of its own. */
const running = new Map<ChildProcess, boolean>();
/** The temporary folders a benchmark made. */
const folders = new Set<string>();
let onSignal = false;

const signalChild = (c: ChildProcess, group: boolean, signal: NodeJS.Signals): void => {
  try {
    if (group && c.pid !== undefined) process.kill(-c.pid, signal);
    else c.kill(signal);
  } catch {
    // already gone
  }
};

/**
 * SIGTERM, then SIGKILL after 3 s (to its whole group when it was tracked as leading one); resolves once
 * the process is gone.
 */
export function stop(c: ChildProcess | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
    const group = running.get(c) ?? false;
    c.once('exit', () => resolve());
    signalChild(c, group, 'SIGTERM');
    setTimeout(() => signalChild(c, group, 'SIGKILL'), 3000).unref();
  });
}

/**
 * A benchmark stopped by a signal (Ctrl-C, `kill`, its terminal closing) leaves nothing behind: every
 * process it registered is stopped (`stop`), its temporary folders removed, then it exits with 128 +
 * the signal's number.
 */
function cleanUpOnSignal(): void {
  if (onSignal) return;
  onSignal = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      void Promise.all([...running.keys()].map(stop)).then(() => {
        for (const dir of folders) rmSync(dir, { recursive: true, force: true });
        process.exit(128 + constants.signals[sig]);
      });
    });
  }
}

/** Registers a process the benchmark started, to be stopped with it (`group`: it was started `detached`, stop its group). */
export function track<T extends ChildProcess>(c: T, group = false): T {
  running.set(c, group);
  c.once('exit', () => running.delete(c));
  cleanUpOnSignal();
  return c;
}

/** A new temporary folder (`prefix` + random), removed if the benchmark is stopped by a signal; its own code removes it when it ends. */
export function labDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  folders.add(dir);
  cleanUpOnSignal();
  return dir;
}

export function spawnQuiet(cmd: string, args: string[], cwd?: string): ChildProcess {
  return track(spawn(cmd, args, { stdio: 'ignore', cwd, env: { ...process.env, VCP_LOG_LEVEL: 'error' } }));
}

/** A vcproxy process (layer 1, a connector) run by Node with `args`, quiet, with the allocator setting its units give it. */
export function spawnRole(args: string[]): ChildProcess {
  return track(spawn(process.execPath, args, { stdio: 'ignore', env: withAllocatorTuning({ ...process.env, VCP_LOG_LEVEL: 'error' }) }));
}

/** Whether `url` answers 200 now (500 ms at most). */
export function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Waits until `url` answers 200 (10 s at most). */
export async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await httpOk(url)) return;
    await sleep(100);
  }
  throw new Error(`no answer from ${url}`);
}


/** A figure rounded, with thousands separators. */
export const fmt = (n: number): string => Math.round(n).toLocaleString('en');

/** Rotates `xs` by `k`: the interleaving order of round (or rate) k. */
export const rotate = <T>(xs: readonly T[], k: number): T[] => xs.map((_, i) => xs[(i + k) % xs.length]!);

/** The 1, 5 and 15 minute load averages, as `uptime` prints them. */
export const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
