import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileTemp } from './guard.js';
import { dist, ROOT } from './paths.js';

export { dist, ROOT };

/**
 * How much slower than a quiet 2-core machine this one may be (`VCP_TEST_SLOWNESS`, default 1): every
 * deadline of the tests is multiplied by it. Deadlines bound how long a broken test takes to fail; a
 * working test never waits for one, since every wait ends as soon as its condition holds.
 */
export const SLOWNESS = ((): number => {
  const raw = process.env.VCP_TEST_SLOWNESS;
  const n = raw === undefined || raw === '' ? 1 : Number(raw);
  if (!Number.isFinite(n) || n < 1) throw new Error(`VCP_TEST_SLOWNESS must be a number of at least 1, got "${raw}"`);
  return n;
})();
/** A deadline scaled by `SLOWNESS`. */
export const within = (ms: number): number => Math.round(ms * SLOWNESS);

/**
 * How long a sipp call waits for each message before it counts as failed (`-recv_timeout`): Timer B
 * (64·T1, 32 s), what a phone gives an INVITE before it gives up. On a loaded machine sipp itself
 * stalls for seconds (its watchdog says so), and a call can time out in sipp before sipp reads the
 * answer that arrived during the stall: with a shorter bound such a call counted as lost.
 */
export const SIPP_RECV_TIMEOUT_MS = 32_000;

/**
 * The one deadline of a test file: waits that name no bound of their own end at it. Ten minutes on a
 * quiet machine (`VCP_TEST_FILE_DEADLINE_S` changes it), scaled; the runner's own timeout sits above it
 * (scripts/test), so that a wait that never ends fails with the name of what it waited for.
 */
let FILE_DEADLINE = Date.now() + within(Number(process.env.VCP_TEST_FILE_DEADLINE_S ?? 600) * 1000);
/** Milliseconds left before the file's deadline. */
export const remaining = (): number => Math.max(0, FILE_DEADLINE - Date.now());
/** Time the file spent waiting for its turn (test/helpers/heavy.ts) does not count against its deadline. */
export const extendDeadline = (ms: number): void => {
  FILE_DEADLINE += ms;
};

/** Compiled output must exist: `npm test` builds first. */
export function requireBuild(): void {
  if (!existsSync(dist('layer2/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it)');
}

/**
 * The path of a tool the test needs; a missing tool fails the test with the command that installs it
 * (the same for every tool: the test suite's own install script knows every package).
 */
export function requireTool(name: string, pkg = name): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${name} is not installed (Debian package ${pkg}): run ./scripts/install --test`);
  }
}

export const sippPath = (): string => requireTool('sipp', 'sip-tester');

export interface Proc {
  child: ChildProcess;
  output: () => string;
  /**
   * The exit code once the process ended and its output was read to the end ('close'): what a test
   * reads from `output()` after this is complete. A process's 'exit' can come before its last lines.
   */
  exited: Promise<number | null>;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

const live = new Set<ChildProcess>();
const killGroup = (c: ChildProcess, signal: NodeJS.Signals): void => {
  try {
    process.kill(-c.pid!, signal);
  } catch {
    // the group is gone
  }
};
process.on('exit', () => {
  for (const c of live) killGroup(c, 'SIGKILL');
});

/**
 * Start a process in a process group of its own, keep its output (bounded), and make sure the whole
 * group is gone when the test ends: `stop` signals the group (SIGTERM, then SIGKILL after a grace
 * period), and the group is killed when this process exits (guard.ts kills whatever else it started).
 */
export function start(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  live.add(child);
  let out = '';
  const keep = (b: Buffer): void => {
    out += b.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    let late: NodeJS.Timeout | undefined;
    child.on('close', (code) => {
      clearTimeout(late);
      resolve(code);
    });
    child.on('error', () => resolve(null));
    // Something outside the group that inherited the pipes could hold them open: the output then
    // counts as ended a while after the exit.
    child.on('exit', (code) => {
      late = setTimeout(() => resolve(code), within(5000));
    });
  });
  child.on('exit', () => {
    live.delete(child);
    // What the leader started (a supervisor's workers) goes with it.
    killGroup(child, 'SIGKILL');
  });
  return {
    child,
    output: () => out,
    exited,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.pid === undefined) return;
      let hard: NodeJS.Timeout | undefined;
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(child, signal);
        hard = setTimeout(() => killGroup(child, 'SIGKILL'), within(5000));
      }
      // Until its last lines are read too (a report written while it stops).
      await exited;
      clearTimeout(hard);
      killGroup(child, 'SIGKILL');
    },
  };
}

export const node = (script: string, args: string[], env?: NodeJS.ProcessEnv): Proc => start(process.execPath, [dist(script), ...args], { env: { VCP_LOG_LEVEL: 'warn', ...env } });

export function httpGet(url: string, timeoutMs = 1000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: within(timeoutMs) }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Wait until `check` holds (a thrown error counts as "not yet"). It gives up at the file's deadline,
 * or after `timeoutMs` (scaled by SLOWNESS) when a wait has a bound of its own, and says what it
 * waited for.
 */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs?: number): Promise<void> {
  const until = Math.min(FILE_DEADLINE, timeoutMs === undefined ? Infinity : Date.now() + within(timeoutMs));
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (err instanceof GiveUp) throw new Error(`gave up waiting for ${what}: ${err.message}`);
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last instanceof Error ? ` (last: ${last.message})` : ''}`);
    await sleep(50);
  }
}

/** Thrown by a `waitFor` check when what it waits for can no longer happen (a process it needs exited). */
export class GiveUp extends Error {}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A fresh folder in this test file's temporary folder (removed when the file ends, guard.ts). */
export const tempDir = (prefix: string): string => {
  mkdirSync(fileTemp, { recursive: true });
  return mkdtempSync(join(fileTemp, `${prefix}-`));
};

export function writeFile(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export interface SippResult {
  code: number | null;
  successful: number;
  failed: number;
  output: string;
}

/**
 * Run sipp to completion in its own directory; the counts come from its statistics file
 * (`-trace_stat`), the last line of which holds the totals. Every call ends as successful or failed:
 * a call that waits more than `-recv_timeout` (`SIPP_RECV_TIMEOUT_MS` unless given) for a message
 * fails, as a phone gives up on a call whose proxy died after 100 Trying (sipp has no other timer
 * once a provisional came).
 */
export function runSipp(args: string[], timeoutMs = 120_000): Promise<SippResult> {
  const dir = tempDir('sipp');
  const recvTimeout = args.includes('-recv_timeout') ? [] : ['-recv_timeout', String(within(SIPP_RECV_TIMEOUT_MS))];
  const p = start(sippPath(), [...args, ...recvTimeout, '-nostdin', '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1', '-timeout', `${Math.ceil(within(timeoutMs) / 1000)}s`, '-timeout_error'], { cwd: dir });
  return p.exited.then((code) => {
    const counts = readSippStats(join(dir, 'stat.csv'));
    const output = p.output() + sippErrors(dir);
    rmSync(dir, { recursive: true, force: true });
    return { code, ...counts, output };
  });
}

/** The totals of a sipp statistics file (`-trace_stat`): its last line; failed -1 when there is none. */
export function readSippStats(file: string): { successful: number; failed: number } {
  if (!existsSync(file)) return { successful: 0, failed: -1 };
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const head = lines[0]!.split(';');
  const last = lines[lines.length - 1]!.split(';');
  const col = (name: string): number => Number(last[head.indexOf(name)] ?? NaN);
  return { successful: col('SuccessfulCall(C)'), failed: col('FailedCall(C)') };
}

/** What sipp's `-trace_err` files in `dir` hold, the first 4,000 characters of each. */
export function sippErrors(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('_errors.log'))
    .map((f) => readFileSync(join(dir, f), 'utf8').slice(0, 4000))
    .join('\n');
}

/**
 * The sipp scenario of the backend stand-in: 200 at once, which sipp resends when the INVITE comes
 * again (scripts/sipp/uas-answer.xml says why not the built-in UAS).
 */
export const UAS_SCENARIO = join(ROOT, 'scripts/sipp/uas-answer.xml');

/** A sipp UAS (the backend stand-in) that runs until stopped. */
export function startSippUas(address: string, port: number, transport: 'u1' | 't1'): Proc {
  const dir = tempDir('sipp-uas');
  const p = start(sippPath(), ['-sf', UAS_SCENARIO, '-i', address, '-p', String(port), '-t', transport, '-nostdin', '-bind_local', '-max_socket', '5000'], { cwd: dir });
  return { ...p, stop: async (signal) => {
    await p.stop(signal);
    rmSync(dir, { recursive: true, force: true });
  } };
}
