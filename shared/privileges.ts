import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { VcpError } from './errors.js';
import type { Logger } from './logger.js';

/** Who the processes run as once their ports are bound (`runAs` of the config; nobody/nogroup by default). */
export interface RunAs {
  user: string;
  group: string;
}

const DEFAULT: RunAs = { user: 'nobody', group: 'nogroup' };

/** Privileges could not be given up as configured: the process does not go on as root. */
export class PrivilegeError extends VcpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VCP_ERR_PRIVILEGES', message, options);
  }
}

/** `user:group` (or `user`, its group of the same name) as given on a command line. */
export function runAsOf(text: string): RunAs {
  const [user, group] = text.split(':');
  return { user: user!, group: group || user! };
}

export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** The user's and group's numeric ids, through the system's name service (`id`, `getent`). */
export function resolveIds(runAs: RunAs = DEFAULT): { uid: number; gid: number } {
  const num = (cmd: string, args: string[], what: string): number => {
    try {
      const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      const n = Number(cmd === 'getent' ? out.split(':')[2] : out);
      if (Number.isInteger(n) && n >= 0) return n;
    } catch {
      // not found: below
    }
    throw new PrivilegeError(`runAs: no ${what} on this host`);
  };
  const uid = /^\d+$/.test(runAs.user) ? Number(runAs.user) : num('id', ['-u', runAs.user], `user "${runAs.user}"`);
  const gid = /^\d+$/.test(runAs.group) ? Number(runAs.group) : num('getent', ['group', runAs.group], `group "${runAs.group}"`);
  return { uid, gid };
}

/**
 * Hands `paths` (recursively) to the user and group the processes will run as, so that a process
 * started after the drop (a restarted worker) can write what root created (the profile store, a log
 * file). Directories above them are not changed: a worker reaches the store through a directory
 * handle its supervisor opened while still root (see `profilesPath`).
 */
export function handOver(paths: readonly string[], ids: { uid: number; gid: number }): void {
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    chownSync(p, ids.uid, ids.gid);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  for (const raw of paths) {
    const p = resolve(raw);
    if (existsSync(p)) walk(p);
  }
}

/** The file descriptor number at which a worker finds the profile directory its supervisor opened. */
export const PROFILES_FD = 4;

/**
 * Where a worker opens the profile store: through the directory its supervisor opened before giving
 * up root (`VCP_PROFILES_FD`), so that no directory above it needs to be searchable by runAs (a
 * private temporary directory, say); otherwise the configured path.
 */
export function profilesPath(configured: string): string {
  const fd = process.env.VCP_PROFILES_FD;
  return fd && /^\d+$/.test(fd) && existsSync(`/proc/self/fd/${fd}`) ? `/proc/self/fd/${fd}` : configured;
}

/**
 * Gives up root once every port is bound: supplementary groups cleared, then the group, then the
 * user (that order: each step needs the privilege the next one removes). Protocol work then runs
 * unprivileged, so a bug reached by hostile input can do no more than break this process. No-op when
 * not running as root (a service started unprivileged, binding with CAP_NET_BIND_SERVICE). A
 * `runAs.user` of root keeps root, with a warning. Throws PrivilegeError when the drop fails.
 */
export function dropPrivileges(runAs: RunAs | undefined, log: Logger): boolean {
  if (!isRoot()) return false;
  const r = runAs ?? DEFAULT;
  if (r.user === 'root' || r.user === '0') {
    log.warn({ user: r.user }, 'runAs is root: privileges kept (hostile input is handled as root)');
    return false;
  }
  const { uid, gid } = resolveIds(r);
  try {
    process.setgroups!([]);
    process.setgid!(gid);
    process.setuid!(uid);
  } catch (err) {
    throw new PrivilegeError(`cannot switch to ${r.user}:${r.group} (${(err as Error).message})`, { cause: err });
  }
  const groups = process.getgroups!();
  if (process.getuid!() !== uid || process.geteuid!() !== uid || process.getgid!() !== gid || groups.some((g) => g !== gid)) {
    throw new PrivilegeError(`still uid ${process.getuid!()} gid ${process.getgid!()} groups ${groups.join(',')} after switching to ${r.user}:${r.group}`);
  }
  log.info({ user: r.user, group: r.group, uid, gid }, 'privileges dropped');
  return true;
}

/**
 * The first directory on the way to `file` that the user and group cannot search, or the file itself
 * when they cannot read it; undefined when they reach it (supplementary groups do not count: the drop
 * clears them). A process the supervisor starts after the drop (a restarted worker) loads its code
 * as that user.
 */
export function unreachableBy(file: string, ids: { uid: number; gid: number }): string | undefined {
  const allows = (p: string, bit: number): boolean => {
    const st = statSync(p);
    const shift = st.uid === ids.uid ? 6 : st.gid === ids.gid ? 3 : 0;
    return ((st.mode >> shift) & bit) !== 0;
  };
  const path = resolve(file);
  const dirs: string[] = [];
  for (let d = dirname(path); ; d = dirname(d)) {
    dirs.unshift(d);
    if (d === dirname(d)) break;
  }
  try {
    for (const d of dirs) if (!allows(d, 1)) return d;
    return allows(path, 4) ? undefined : path;
  } catch {
    return path;
  }
}

/** The real user id of a running process (from /proc), or undefined when it is gone. */
export function uidOf(pid: number): number | undefined {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
