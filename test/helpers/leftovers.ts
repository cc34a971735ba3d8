import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './paths.js';

/**
 * What a test run can leave behind, and how to find it. Every test process puts a tag in its
 * environment (`VCP_TEST_TAG=<project>::<test file>::<pid>`, see guard.ts), which every process it
 * starts inherits, whatever starts it (our helpers, a NATS cluster script, a browser); temporary
 * folders live under one folder of this checkout's own; network namespaces, links and nftables
 * tables of tests carry the `vcpt-` prefix.
 */
export const TAG_VAR = 'VCP_TEST_TAG';
export const projectTag = `${ROOT}::`;
export const fileTag = (file: string): string => `${projectTag}${file}::`;
/** The temporary folder of this checkout's tests (one per checkout, so that checkouts never meet). */
export const TEST_TMP = join(tmpdir(), `vcp-test-${createHash('sha256').update(ROOT).digest('hex').slice(0, 10)}`);
export const NS_PREFIX = 'vcpt-';

/** Processes whose environment carries a tag starting with `prefix` (this process excluded). */
export function taggedProcesses(prefix: string): Array<{ pid: number; tag: string; cmd: string }> {
  const found: Array<{ pid: number; tag: string; cmd: string }> = [];
  const needle = `${TAG_VAR}=${prefix}`;
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let env: string;
    try {
      env = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // gone, or not ours to read
    }
    const at = env.indexOf(needle);
    if (at < 0 || (at > 0 && env[at - 1] !== '\0')) continue;
    const end = env.indexOf('\0', at);
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim();
    } catch {
      // gone meanwhile
    }
    found.push({ pid, tag: env.slice(at + TAG_VAR.length + 1, end < 0 ? undefined : end), cmd });
  }
  return found;
}

/** SIGKILL every process tagged with `prefix`; returns what was killed. */
export function killTagged(prefix: string): Array<{ pid: number; tag: string; cmd: string }> {
  const found = taggedProcesses(prefix);
  for (const p of found) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return found;
}

const lines = (cmd: string, args: string[]): string[] => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

/** Network namespaces of tests (`vcpt-*`). */
export const testNamespaces = (): string[] => lines('ip', ['netns', 'list']).map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(NS_PREFIX));
/** Links of the root namespace named like a test's (`vcpt*`: veth ends left behind). */
export const testLinks = (): string[] => lines('ip', ['-o', 'link', 'show']).map((l) => l.split(': ')[1]?.split('@')[0] ?? '').filter((n) => n.startsWith('vcpt'));
/** nftables tables of tests in the root namespace (`vcpt*`). */
export const testNftTables = (): string[] => lines('nft', ['list', 'tables']).filter((l) => / vcpt/.test(l));
/** LXC containers of the Vagrant lab's test (`vcpt*`): a run killed before its teardown leaves them running. */
export const testContainers = (): string[] => lines('lxc-ls', ['-1']).map((l) => l.trim()).filter((n) => n.startsWith('vcpt'));
/** What is left in the tests' temporary folder. */
export const testTempEntries = (): string[] => (existsSync(TEST_TMP) ? readdirSync(TEST_TMP) : []);

/** Removes the containers, namespaces, links and tables above (as root); what could not be removed stays listed. */
export function removeTestNetworks(): void {
  for (const c of testContainers()) {
    lines('lxc-stop', ['-k', '-n', c]);
    lines('lxc-destroy', ['-n', c]);
  }
  for (const ns of testNamespaces()) {
    for (const pid of lines('ip', ['netns', 'pids', ns])) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
    lines('ip', ['netns', 'delete', ns]);
  }
  for (const link of testLinks()) lines('ip', ['link', 'delete', link]);
  for (const t of testNftTables()) {
    const [, family, name] = t.split(' ');
    if (family && name) lines('nft', ['delete', 'table', family, name]);
  }
}

export const removeTestTemp = (): void => rmSync(TEST_TMP, { recursive: true, force: true });
