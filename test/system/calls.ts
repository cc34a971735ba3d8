import { execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { dist, readSippStats, SIPP_RECV_TIMEOUT_MS, sippErrors, tempDir, within } from '../helpers/procs.js';

/** How a command is started: directly, or wrapped (e.g. nsenter into a container's network). */
export type Wrap = (cmd: string, args: string[]) => { cmd: string; args: string[] };
export const direct: Wrap = (cmd, args) => ({ cmd, args });

export interface SippCount {
  code: number | null;
  successful: number;
  failed: number;
  output: string;
  /** What sipp wrote to stderr (a fatal error that ends a run early is there), the first 4,000 characters. */
  stderr: string;
}

/** A sipp run told in a test's comments: exit code, stderr, the end of its screen. */
export const sippReport = (r: SippCount): string => `sipp exit code ${r.code}; stderr: ${r.stderr.trim() || '(empty)'}\n${r.output.slice(-2500)}`;

/**
 * sipp to completion, its counts from the statistics file (`-trace_stat`): every call ends as
 * successful or failed (a call that waits more than `SIPP_RECV_TIMEOUT_MS` for a message fails).
 */
export function sipp(args: string[], wrap: Wrap = direct, timeoutMs = 300_000): Promise<SippCount> {
  const dir = tempDir('sipp');
  const bin = execFileSync('sh', ['-c', 'command -v sipp'], { encoding: 'utf8' }).trim();
  const full = [...args, '-recv_timeout', String(within(SIPP_RECV_TIMEOUT_MS)), '-nostdin', '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1', '-timeout', `${Math.floor(timeoutMs / 1000)}s`, '-timeout_error'];
  const w = wrap(bin, full);
  const child = spawn(w.cmd, w.args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-200_000)));
  child.stderr.on('data', (b: Buffer) => {
    out = (out + b.toString()).slice(-200_000);
    if (err.length < 4000) err = (err + b.toString()).slice(0, 4000);
  });
  return new Promise((resolve) => {
    child.on('close', (code) => {
      const { successful, failed } = readSippStats(join(dir, 'stat.csv'));
      const errors = sippErrors(dir);
      rmSync(dir, { recursive: true, force: true });
      // Printable text only: the output goes into the TAP stream as comments.
      const printable = (x: string): string => x.replace(/[^\t\n\x20-\x7e]/g, '?');
      resolve({ code, successful, failed, output: printable(out + errors), stderr: printable(err) });
    });
  });
}

export interface H323Count {
  code: number | null;
  attempted: number;
  successful: number;
  failed: number;
  output: string;
}

/** The H.323 endpoint simulator placing `max` calls at `rate` per second; its JSON report. */
export function h323Calls(target: string, max: number, rate: number, wrap: Wrap = direct): Promise<H323Count> {
  const w = wrap(process.execPath, [dist('scripts/sim/h323-endpoint.js'), target, '-m', String(max), '-r', String(rate), '--json']);
  const child = spawn(w.cmd, w.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve) => {
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        const r = JSON.parse(line) as { attempted: number; succeeded: number; failed: number };
        resolve({ code, attempted: r.attempted, successful: r.succeeded, failed: r.failed, output: out });
      } catch {
        resolve({ code, attempted: 0, successful: 0, failed: -1, output: out });
      }
    });
  });
}
