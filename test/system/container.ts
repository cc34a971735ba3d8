import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/procs.js';

/**
 * A throwaway Debian 12 container booted with systemd as its init: a copy of the cached root file
 * system (scripts/lab/rootfs; the cache itself is never changed), booted by systemd-nspawn with a
 * private network (only its own loopback), not registered with a machine manager (the test host's
 * PID 1 need not be systemd: --register=no --keep-unit). Commands run inside with nsenter; a host
 * program can run in its network namespace only (sipp, the H.323 endpoint). `destroy` kills the
 * container's PID namespace and removes the copy; a process exit handler does the same.
 */
export interface ExecResult {
  code: number;
  out: string;
}

const WORK = '/var/tmp';
const PREFIX = 'vcp-container-';
const live = new Set<Container>();
process.on('exit', () => {
  for (const c of live) c.destroySync();
});
// A test runner that gives up on this process (timeout) sends SIGTERM: the containers go first.
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    for (const c of live) c.destroySync();
    process.exit(128 + (sig === 'SIGTERM' ? 15 : 2));
  });
}

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class Container {
  readonly #nspawn: ChildProcess;
  readonly #dir: string;
  #leader = 0;
  #gone = false;

  private constructor(readonly name: string, dir: string, nspawn: ChildProcess) {
    this.#dir = dir;
    this.#nspawn = nspawn;
  }

  /** The container's PID 1 as the host sees it. */
  get leader(): number {
    return this.#leader;
  }

  get root(): string {
    return join(this.#dir, 'root');
  }

  /** The console output of the boot (systemd's status lines). */
  bootLog(): string {
    try {
      return readFileSync(join(this.#dir, 'console.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * Copy the cached root file system and boot it; resolves when systemd has finished starting the
   * system (running or degraded). `binds` are host directories mounted read-only inside.
   */
  static async boot(binds: Array<{ host: string; inside: string }>, timeoutMs: number): Promise<Container> {
    removeStale();
    const rootfs = execFileSync(join(ROOT, 'scripts/lab/rootfs'), { encoding: 'utf8' }).trim().split('\n').pop()!;
    const dir = mkdtempSync(join(WORK, PREFIX));
    writeFileSync(join(dir, 'owner.pid'), String(process.pid));
    execFileSync('cp', ['-a', '--reflink=auto', rootfs, join(dir, 'root')]);
    const name = `vcp-${process.pid}-${dir.slice(-6)}`.replace(/[^A-Za-z0-9-]/g, 'x');
    const log = openSync(join(dir, 'console.log'), 'w');
    const args = ['-D', join(dir, 'root'), '-M', name, '--register=no', '--keep-unit', '--private-network', '--console=passive', ...binds.map((b) => `--bind-ro=${b.host}:${b.inside}`), '-b'];
    ensureCgroupMounts();
    const nspawn = spawn('systemd-nspawn', args, { stdio: ['ignore', log, log], env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning' } });
    closeSync(log);
    const c = new Container(name, dir, nspawn);
    live.add(c);
    try {
      await c.#waitLeader(timeoutMs);
      const until = Date.now() + timeoutMs;
      for (;;) {
        // Until systemd has opened its private bus, systemctl cannot connect: try again.
        const r = await c.exec(['systemctl', 'is-system-running', '--wait'], timeoutMs);
        if (/running|degraded/.test(r.out)) break;
        if (Date.now() > until) throw new Error(`the container did not finish booting (${r.out.trim()})`);
        await new Promise((res) => setTimeout(res, 200));
      }
    } catch (err) {
      const boot = c.bootLog().slice(-3000);
      c.destroySync();
      throw new Error(`${(err as Error).message}\n${boot}`);
    }
    return c;
  }

  async #waitLeader(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    const pid = this.#nspawn.pid!;
    while (Date.now() < until) {
      if (this.#nspawn.exitCode !== null) throw new Error(`systemd-nspawn exited with ${this.#nspawn.exitCode}`);
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
        for (const child of children) {
          // nspawn's own helper forks first; the container's PID 1 is the one running systemd.
          if (readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'systemd') {
            this.#leader = child;
            return;
          }
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the container did not start systemd');
  }

  /** Run a command inside the container (all its namespaces, a clean environment). */
  exec(cmd: string[], timeoutMs = 120_000, env: string[] = []): Promise<ExecResult> {
    return run('nsenter', ['-t', String(this.#leader), '-a', 'env', '-i', PATH, 'LANG=C.UTF-8', ...env, ...cmd], timeoutMs);
  }

  /** Run a shell line inside the container. */
  sh(line: string, timeoutMs = 120_000): Promise<ExecResult> {
    return this.exec(['sh', '-c', line], timeoutMs);
  }

  /** The argv that runs a host program inside the container's network namespace only. */
  netArgv(cmd: string, args: string[]): { cmd: string; args: string[] } {
    return { cmd: 'nsenter', args: ['-t', String(this.#leader), '-n', cmd, ...args] };
  }

  /** Power off (systemd stops every unit), then make sure nothing of it is left. */
  async destroy(graceMs = 20_000): Promise<void> {
    if (this.#gone) return;
    if (this.#nspawn.exitCode === null && this.#nspawn.signalCode === null) {
      const exited = new Promise<void>((r) => this.#nspawn.once('exit', () => r()));
      this.#nspawn.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
    }
    this.destroySync();
  }

  destroySync(): void {
    if (this.#gone) return;
    this.#gone = true;
    live.delete(this);
    // Killing the container's PID 1 ends every process of its PID namespace.
    if (this.#leader > 0) {
      try {
        process.kill(this.#leader, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      this.#nspawn.kill('SIGKILL');
    } catch {
      // already gone
    }
    for (let i = 0; i < 50 && this.#leader > 0 && existsSync(`/proc/${this.#leader}`); i++) execFileSync('sleep', ['0.1']);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    // A process group of its own: whatever a command signals as its group (`kill 0`) stays with it,
    // never reaching the test runner; a command over its time is ended with its group.
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (b: Buffer): void => {
      out = (out + b.toString('utf8')).slice(-(16 << 20));
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 1, out: `${out}${err.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out });
    });
  });
}

/** Copies left by a test process that died before cleaning up (its owner pid is gone). */
function removeStale(): void {
  for (const name of readdirSync(WORK)) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(WORK, name);
    let owner = 0;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      // no owner file: a copy in progress or an old one
    }
    if (owner > 0 && existsSync(`/proc/${owner}`)) continue;
    killNspawnOf(join(dir, 'root'));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A container still running from `root` after its test died: its nspawn and everything in it. */
function killNspawnOf(root: string): void {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv[0]?.endsWith('systemd-nspawn') || !argv.includes(root)) continue;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(child), 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/**
 * systemd-nspawn needs the cgroup file systems under /sys/fs/cgroup. `ip netns exec` (how tests run
 * here, in a network namespace of their own) gives its commands a fresh /sys without them: mount this
 * process's hierarchies again, in its own mount namespace only (the one `ip netns exec` made).
 */
function ensureCgroupMounts(): void {
  if (readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => / \/sys\/fs\/cgroup\S* /.test(l) && /- cgroup2? /.test(l))) return;
  const sh = (args: string[]): void => void execFileSync(args[0]!, args.slice(1), { stdio: 'ignore' });
  sh(['mount', '-t', 'tmpfs', '-o', 'mode=755', 'cgroup_root', '/sys/fs/cgroup']);
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [id, controllers] = line.split(':') as [string, string];
    if (id === '0') {
      sh(['mkdir', '-p', '/sys/fs/cgroup/unified']);
      sh(['mount', '-t', 'cgroup2', 'cgroup2', '/sys/fs/cgroup/unified']);
      continue;
    }
    const named = controllers.startsWith('name=');
    const dir = `/sys/fs/cgroup/${named ? controllers.slice(5) : controllers}`;
    sh(['mkdir', '-p', dir]);
    sh(['mount', '-t', 'cgroup', '-o', named ? `none,${controllers}` : controllers, 'cgroup', dir]);
  }
}
