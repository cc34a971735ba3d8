import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from source or from dist/. */
export const ROOT = ((): string => {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const i = here.lastIndexOf('/dist/');
  return i >= 0 ? here.slice(0, i + 1) : fileURLToPath(new URL('../../', import.meta.url));
})();
export const dist = (p: string): string => join(ROOT, 'dist', p);
export const repo = (p: string): string => join(ROOT, p);

/**
 * A command inside a network namespace, or on the host itself when `ns` is undefined; without a test
 * runner's hooks (`withoutTestHooks`).
 */
export function inNs(ns: string | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  const [c, a] = withoutTestHooks(cmd, args);
  return ns ? ['ip', ['netns', 'exec', ns, c, ...a]] : [c, a];
}

const TEST_HOOK = /@tapjs[\\/]/;

/**
 * The command with the test runner's hooks taken out of NODE_OPTIONS. Under tap every Node.js process
 * inherits `--import=@tapjs/processinfo` (coverage and process tracking; tap re-adds it to the
 * environment of every spawn, so it is removed by `env` in front of the command): it more than
 * doubles the CPU a connector worker needs to load its modules (about 340 → 920 ms) and slows all it
 * does after. The lab measures the product's start-up and failover times, so its processes run as
 * they run in production. Other NODE_OPTIONS stay; without the hooks the command is unchanged.
 */
export function withoutTestHooks(cmd: string, args: readonly string[], nodeOptions = process.env.NODE_OPTIONS): [string, string[]] {
  if (!nodeOptions || !TEST_HOOK.test(nodeOptions)) return [cmd, [...args]];
  const words = nodeOptions.match(/"[^"]*"|\S+/g) ?? [];
  const kept: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (TEST_HOOK.test(w)) continue;
    if (/^"?--(import|require|loader|experimental-loader)"?$/.test(w) && TEST_HOOK.test(words[i + 1] ?? '')) {
      i++;
      continue;
    }
    kept.push(w);
  }
  return ['env', [...(kept.length ? [`NODE_OPTIONS=${kept.join(' ')}`] : ['-u', 'NODE_OPTIONS']), cmd, ...args]];
}

export class LabError extends Error {}

/** What a wait waited for can no longer happen (the process that was to log it exited): `waitUntil` stops at once. */
class GiveUp extends LabError {}

/**
 * A command run real-time (round robin, priority 10) where the kernel allows it, as is where not (a
 * container without a real-time budget): [command, args] for RunDir.start.
 */
export function realtime(cmd: string, args: readonly string[]): [string, string[]] {
  return ['sh', ['-c', 'chrt --rr 10 true 2>/dev/null && exec chrt --rr 10 "$@" || exec "$@"', cmd, cmd, ...args]];
}

/** Run to completion; throws with the command's output unless `allowFail`. */
export function sh(cmd: string, args: readonly string[], o: { ns?: string | undefined; allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): { code: number; out: string } {
  const [c, a] = inNs(o.ns, cmd, args);
  try {
    const out = execFileSync(c, a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: o.timeoutMs ?? 10_000, env: { ...process.env, ...o.env } });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string; message: string };
    const out = `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message;
    if (o.allowFail) return { code: e.status ?? 1, out };
    throw new LabError(`${[c, ...a].join(' ')} failed: ${out.trim()}`);
  }
}

/**
 * Where a lab keeps what it starts: pid files, logs, generated configs. Daemons run detached (they
 * outlive the command that started them, as provisioning needs), each leading its own process group,
 * and are stopped as a group by their pid file.
 */
export class RunDir {
  readonly #spawns = new Map<string, Spawn>();
  readonly #marks = new Map<string, number>();

  constructor(readonly path: string) {
    mkdirSync(join(path, 'pids'), { recursive: true });
    mkdirSync(join(path, 'logs'), { recursive: true });
  }

  file(...parts: string[]): string {
    const p = join(this.path, ...parts);
    mkdirSync(join(p, '..'), { recursive: true });
    return p;
  }

  /** A directory inside the run dir, created. */
  dir(...parts: string[]): string {
    const p = join(this.path, ...parts);
    mkdirSync(p, { recursive: true });
    return p;
  }

  log(name: string): string {
    return join(this.path, 'logs', `${name}.log`);
  }

  pidFile(name: string): string {
    return join(this.path, 'pids', `${name}.pid`);
  }

  /**
   * Start a daemon detached, as the leader of its own process group (everything it forks stays in
   * that group and is stopped with it). Remembers when it was spawned and where its log stood then,
   * so that readiness is read from the lines it writes from now on.
   */
  start(name: string, ns: string | undefined, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): number {
    const [c, a] = inNs(ns, cmd, args);
    const log = this.log(name);
    const fd = openSync(log, 'a');
    const logOffset = fstatSync(fd).size;
    const spawnedAt = Date.now();
    const child = spawn(c, a, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
    closeSync(fd);
    if (child.pid === undefined) throw new LabError(`could not start ${name} (${c})`);
    child.unref();
    writeFileSync(this.pidFile(name), `${child.pid} ${startTime(child.pid) ?? ''}\n`);
    this.#spawns.set(name, { pid: child.pid, spawnedAt, logOffset });
    return child.pid;
  }

  /** Remember where a log file (of a process not started here: a notify script's) ends now. */
  mark(name: string): void {
    const file = this.log(name);
    this.#marks.set(name, existsSync(file) ? statSync(file).size : 0);
  }

  marked(name: string): number {
    return this.#marks.get(name) ?? 0;
  }

  /** When `name` was last started by this run dir, and its log's size then. */
  spawned(name: string): Spawn | undefined {
    return this.#spawns.get(name);
  }

  /** Lines `name` logged since it was last started (all of them when it was not started here). */
  linesSince(name: string, from = this.#spawns.get(name)?.logOffset ?? 0): string[] {
    const file = this.log(name);
    if (!existsSync(file)) return [];
    const buf = readFileSync(file);
    return buf.subarray(Math.min(from, buf.length)).toString('utf8').split('\n');
  }

  /**
   * Wait for a JSON log line of `name` (since its last start) whose `msg` is `msg`; resolves with the
   * time the line carries (pino's `time`, or `ms` for the notify script), the moment it was ready.
   */
  async waitLog(name: string, match: (e: LogEvent) => boolean, what: string, timeoutMs: number): Promise<number> {
    let at = 0;
    await this.#explained(name, waitUntil(what, () => {
      for (const line of this.linesSince(name)) {
        if (!line.startsWith('{')) continue;
        try {
          const e = JSON.parse(line) as LogEvent;
          if (match(e)) {
            at = typeof e.ms === 'number' ? e.ms : Date.parse(String(e.time));
            return true;
          }
        } catch {
          // a line being written
        }
      }
      // Every process waited on here runs in the foreground: one that exited will not log it any more.
      const pid = this.#spawns.get(name)?.pid;
      if (pid !== undefined && !alive(pid)) throw new GiveUp(`${name} exited before it logged what ${what.replace(`${name} to `, 'was awaited: ')}`);
      return false;
    }, timeoutMs, 25));
    return at;
  }

  /**
   * A wait on `name` that fails says whether the process still runs and what it logged last: a run
   * dir is often removed before anyone reads it (a test's teardown), and the message is what remains.
   */
  async #explained<T>(name: string, wait: Promise<T>): Promise<T> {
    try {
      return await wait;
    } catch (err) {
      const pid = this.#spawns.get(name)?.pid;
      const state = pid === undefined ? 'not started here' : alive(pid) ? `pid ${pid} still running` : `pid ${pid} gone`;
      const tail = this.linesSince(name).filter((l) => l.trim()).slice(-5).join(' | ').slice(-1500);
      throw new LabError(`${(err as Error).message} (${name}: ${state}; last lines: ${tail || 'none'})`, { cause: err });
    }
  }

  /** Record a pid a daemon wrote itself (keepalived's VRRP child, for one). */
  adopt(name: string, pidFile: string): number | undefined {
    const pid = readPid(pidFile);
    if (pid) writeFileSync(this.pidFile(name), `${pid}\n`);
    return pid;
  }

  pid(name: string): number | undefined {
    return readPid(this.pidFile(name));
  }

  names(): string[] {
    return readdirSync(join(this.path, 'pids'))
      .filter((f) => f.endsWith('.pid'))
      .map((f) => f.slice(0, -4));
  }

  /** Signal a daemon's process group; waits for its leader to go (SIGKILL follows after `waitMs`). */
  async stop(name: string, signal: NodeJS.Signals = 'SIGTERM', waitMs = 3000): Promise<void> {
    const pid = this.pid(name);
    if (pid === undefined) return;
    signalGroup(pid, signal);
    const until = Date.now() + waitMs;
    while (alive(pid) && Date.now() < until) await sleep(25);
    signalGroup(pid, 'SIGKILL');
    while (alive(pid) && Date.now() < until + 2000) await sleep(25);
    rmSync(this.pidFile(name), { force: true });
  }

  /** Kill a daemon and everything it forked at once, without waiting (a fault, not a stop). */
  kill(name: string): void {
    const pid = this.pid(name);
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
  }
}

export interface Spawn {
  pid: number;
  spawnedAt: number;
  logOffset: number;
}

export interface LogEvent {
  msg?: string;
  time?: string | number;
  ms?: number;
  [k: string]: unknown;
}

/**
 * The pid in a pid file, if that process still runs: a file may also carry the process's start time,
 * and a pid now used by another process (after a reboot, say) is no longer ours.
 */
export function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const [p, start] = readFileSync(file, 'utf8').trim().split(/\s+/);
  const n = Number(p);
  if (!Number.isInteger(n) || n <= 1) return undefined;
  if (start && startTime(n) !== undefined && startTime(n) !== start) return undefined;
  return n;
}

/** A process's start time (clock ticks since boot, /proc/PID/stat field 22), as text. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Signal a process group (its leader's pid); falls back to the process alone when it leads none. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    signalPid(pid, signal);
  }
}

export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Alive and not a zombie (a detached child we never reap stays a zombie until we exit). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Deadlines stretch by VCP_TEST_SLOWNESS (default 1) on a machine known to be slow. */
export const SLOWNESS = Math.max(1, Number(process.env.VCP_TEST_SLOWNESS) || 1);

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<number> {
  const start = Date.now();
  timeoutMs *= SLOWNESS;
  for (;;) {
    try {
      if (await check()) return Date.now() - start;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      // not yet
    }
    if (Date.now() - start > timeoutMs) throw new LabError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** GET a URL from inside a namespace (curl): true on 200. */
export function httpOk(ns: string | undefined, url: string, timeoutS = 1): boolean {
  return sh('curl', ['--silent', '--fail', '--output', '/dev/null', '--max-time', String(timeoutS), url], { ns, allowFail: true }).code === 0;
}
