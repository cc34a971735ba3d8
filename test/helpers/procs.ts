import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Project root (tests run from source; the processes they start run from dist/). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const dist = (p: string): string => join(ROOT, 'dist', p);

/** Compiled output must exist: `npm test` builds first. */
export function requireBuild(): void {
  if (!existsSync(dist('layer2/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it)');
}

export function sippPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v sipp'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('sipp is not installed: run ./scripts/install --test (it installs the sip-tester package)');
  }
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Start a process, keep its output (bounded), and make sure it is gone when the test ends. */
export function start(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  const keep = (b: Buffer): void => {
    out += b.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('exit', () => live.delete(child));
  return {
    child,
    output: () => out,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
        setTimeout(() => child.kill('SIGKILL'), 4000).unref();
      }),
  };
}

export const node = (script: string, args: string[], env?: NodeJS.ProcessEnv): Proc => start(process.execPath, [dist(script), ...args], { env: { VCP_LOG_LEVEL: 'warn', ...env } });

export function httpGet(url: string, timeoutMs = 1000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), `vcp-${prefix}-`));

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
 * a call that waits more than `-recv_timeout` (default 10 s) for a message fails, as a phone gives up
 * on a call whose proxy died after 100 Trying (sipp has no other timer once a provisional came).
 */
export function runSipp(args: string[], timeoutMs = 120_000): Promise<SippResult> {
  const dir = tempDir('sipp');
  const recvTimeout = args.includes('-recv_timeout') ? [] : ['-recv_timeout', '10000'];
  const p = start(sippPath(), [...args, ...recvTimeout, '-nostdin', '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1', '-timeout', `${Math.floor(timeoutMs / 1000)}s`, '-timeout_error'], { cwd: dir });
  return new Promise((resolve) => {
    p.child.on('exit', (code) => {
      const counts = readStats(join(dir, 'stat.csv'));
      const output = p.output() + listErrors(dir);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, ...counts, output });
    });
  });
}

function readStats(file: string): { successful: number; failed: number } {
  if (!existsSync(file)) return { successful: 0, failed: -1 };
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const head = lines[0]!.split(';');
  const last = lines[lines.length - 1]!.split(';');
  const col = (name: string): number => Number(last[head.indexOf(name)] ?? NaN);
  return { successful: col('SuccessfulCall(C)'), failed: col('FailedCall(C)') };
}

function listErrors(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('_errors.log'))
    .map((f) => readFileSync(join(dir, f), 'utf8').slice(0, 4000))
    .join('\n');
}

/** A sipp UAS (the backend stand-in) that runs until stopped. */
export function startSippUas(address: string, port: number, transport: 'u1' | 't1'): Proc {
  const dir = tempDir('sipp-uas');
  const p = start(sippPath(), ['-sn', 'uas', '-i', address, '-p', String(port), '-t', transport, '-nostdin', '-bind_local', '-max_socket', '5000'], { cwd: dir });
  return { ...p, stop: async (signal) => {
    await p.stop(signal);
    rmSync(dir, { recursive: true, force: true });
  } };
}
