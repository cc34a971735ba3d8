import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../../shared/config/load.js';
import { dist, LabError, repo, sh, waitUntil } from './exec.js';
import { failedBetween, outage } from './figures.js';
import { LAB } from './layout.js';
import type { ProbeResult } from './prober.js';
import { table } from './report.js';
import type { Figure } from './scenarios.js';

/** The box scripts/lab/build-box makes, as Vagrant knows it (the Vagrantfile names it too). */
const BOX = 'vcproxy/lab-bookworm-lxc';
const VAGRANT_HOME = process.env.VAGRANT_HOME ?? '/var/cache/vcproxy/vagrant.d';

const USAGE = `usage: scripts/lab/vagrant-drill [options]
The failover lab of the Vagrantfile on this Linux host with the lxc provider (vagrant-lxc), no
VirtualBox or KVM: builds the box once (scripts/lab/build-box), brings router, pop-a, pop-b and
client up, runs the prober on the client, halts pop-a (vagrant halt --force), brings it back
(vagrant up pop-a), prints the figures as the netns drill does, and destroys everything. Exits 1
when a target is missed, 3 when the lab could not be built. Needs root and a build.
options:
  --prefix P      names of the containers, host bridges and veths (default vcpl)
  --mgmt A.B.C    management network of the containers (default 10.98.0)
  --json FILE     also write the figures as JSON
  --keep          leave the lab running, also when it failed (scripts/lab/vagrant-drill --cleanup removes it)
  --keep-logs     keep the run dir (vagrant output, probes) when every target is met too
  --cleanup       remove what an earlier run left (containers and bridges with the prefix) and exit`;

interface Ctx {
  prefix: string;
  env: NodeJS.ProcessEnv;
  run: string;
  say: (line: string) => void;
}

/** The vagrant (and other) commands running now, each the leader of its process group. */
const running = new Set<ChildProcess>();

/** Stop every command still running (a vagrant up holds the machines' locks): TERM, then KILL. */
async function stopRunning(): Promise<void> {
  await Promise.all(
    [...running].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          signalTree(c, 'SIGTERM');
          setTimeout(() => signalTree(c, 'SIGKILL'), 10_000).unref();
        }),
    ),
  );
}

/** A command to completion with its output in the run dir's log; rejects on a non-zero exit. */
function step(ctx: Ctx, name: string, cmd: string, args: string[], timeoutMs = 900_000): Promise<number> {
  const t0 = Date.now();
  const log = createWriteStream(join(ctx.run, `${name}.log`), { flags: 'a' });
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: repo('.'), env: ctx.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child);
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    const timer = setTimeout(() => signalTree(child, 'SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      running.delete(child);
      clearTimeout(timer);
      log.end();
      if (code === 0) resolve(Date.now() - t0);
      else reject(new LabError(`${[cmd, ...args].join(' ')} exited ${code}; last lines of ${join(ctx.run, `${name}.log`)}:\n${tail(join(ctx.run, `${name}.log`))}`));
    });
  });
}

const tail = (file: string, n = 25): string => (existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n') : '');

function signalTree(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, sig);
  } catch {
    // gone
  }
}

const containers = (prefix: string): string[] =>
  sh('lxc-ls', ['-1'], { allowFail: true })
    .out.split('\n')
    .map((l) => l.trim())
    .filter((n) => n.startsWith(`${prefix}-`));

/** Whatever a run with this prefix left: its containers (stopped, destroyed) and its host bridges. */
function removeLeftovers(prefix: string): string[] {
  const notes: string[] = [];
  for (const c of containers(prefix)) {
    sh('lxc-stop', ['-k', '-n', c], { allowFail: true, timeoutMs: 60_000 });
    const r = sh('lxc-destroy', ['-n', c], { allowFail: true, timeoutMs: 120_000 });
    notes.push(r.code === 0 ? `removed container ${c}` : `could not remove container ${c}: ${r.out.trim()}`);
  }
  sh(repo('scripts/lab/lxc-net'), ['down', prefix], { allowFail: true });
  // Vagrant's index of machines forgets the ones that are gone.
  sh('vagrant', ['global-status', '--prune'], { allowFail: true, timeoutMs: 120_000, env: { VAGRANT_HOME, VAGRANT_CHECKPOINT_DISABLE: '1' } });
  return notes;
}

/** Why LXC cannot run here, if it cannot (the suite skips then); undefined when it can. */
export function lxcUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'LXC containers need root';
  const check = sh('lxc-checkconfig', [], { allowFail: true }).out.replace(/\x1b\[[0-9;]*m/g, '');
  for (const need of ['Network namespace', 'Pid namespace', 'Cgroups', 'Veth pair device', 'Bridges']) {
    if (!new RegExp(`^${need}: enabled`, 'm').test(check)) return `the kernel lacks what LXC needs (lxc-checkconfig: ${need} is not enabled)`;
  }
  return undefined;
}

async function main(): Promise<number> {
  let v;
  try {
    v = parseArgs({ options: { prefix: { type: 'string', default: 'vcpl' }, mgmt: { type: 'string', default: '10.98.0' }, json: { type: 'string' }, keep: { type: 'boolean' }, 'keep-logs': { type: 'boolean' }, cleanup: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (err) {
    process.stderr.write(`vagrant-drill: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const prefix = v.prefix!;
  if (!/^[a-z][a-z0-9]{1,5}$/.test(prefix) || !/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v.mgmt!)) {
    process.stderr.write(`vagrant-drill: --prefix is 2-6 lower-case letters or digits, --mgmt the first three bytes of a /24\n${USAGE}\n`);
    return 2;
  }
  for (const cmd of ['vagrant', 'lxc-start', 'lxc-attach', 'lxc-checkconfig', 'brctl', 'redir']) {
    if (sh('sh', ['-c', `command -v ${cmd}`], { allowFail: true }).code !== 0) {
      process.stderr.write(`vagrant-drill: ${cmd} is missing: run ./scripts/install --test\n`);
      return 3;
    }
  }
  const why = lxcUnavailable();
  if (why) {
    process.stderr.write(`vagrant-drill: LXC cannot run here: ${why}\n`);
    return 4;
  }
  if (v.cleanup) {
    for (const n of removeLeftovers(prefix)) process.stdout.write(`${n}\n`);
    process.stdout.write(`vagrant-drill: no ${prefix}-* container or bridge is left\n`);
    return 0;
  }
  if (!existsSync(dist('scripts/lab/host.js')) || !existsSync(dist('scripts/lab/prober.js'))) {
    process.stderr.write('vagrant-drill: dist/ is missing: build first (npm run build)\n');
    return 3;
  }
  const started = Date.now();
  const run = mkdtempSync(join(tmpdir(), 'vcp-vagrant-'));
  const say = (line: string): void => void process.stdout.write(`[vagrant-drill +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    VAGRANT_DEFAULT_PROVIDER: 'lxc',
    VAGRANT_HOME,
    VAGRANT_DOTFILE_PATH: join(run, 'dot'),
    VAGRANT_CHECKPOINT_DISABLE: '1',
    VAGRANT_NO_COLOR: '1',
    VCP_LAB_PREFIX: prefix,
    VCP_LAB_MGMT: v.mgmt,
  };
  const ctx: Ctx = { prefix, env, run, say };
  const config = loadConfigFile(repo('config/examples/failover-lab.yaml'), {});
  const wk = config.wellKnown.address;
  const backendOf = (pop: string): string => {
    const s = config.servers.find((x) => x.pop === pop && x.builtin)!;
    return `${s.address}:${s.sipPort}`;
  };
  const probes: ProbeResult[] = [];
  let prober: ChildProcess | undefined;
  let cleaning: Promise<void> | undefined;
  const clean = (): Promise<void> =>
    (cleaning ??= (async () => {
      say('destroying the lab (vagrant destroy -f, host bridges)');
      if (prober) signalTree(prober, 'SIGKILL');
      await stopRunning();
      await step(ctx, 'vagrant-destroy', 'vagrant', ['destroy', '-f'], 300_000).catch((err: Error) => say(`vagrant destroy: ${err.message.split('\n')[0]}`));
      for (const n of removeLeftovers(prefix)) say(n);
    })());
  const onSignal = (sig: NodeJS.Signals): void => {
    say(`${sig}: stopping`);
    void clean().then(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const figures: Figure[] = [];
  const timings: Record<string, number> = {};
  try {
    for (const n of removeLeftovers(prefix)) say(`earlier run: ${n}`);
    let t0 = Date.now();
    const box = sh(repo('scripts/lab/build-box'), [], { timeoutMs: 1_800_000 }).out.trim().split('\n').pop()!;
    timings.boxMs = Date.now() - t0;
    const stamp = readFileSync(`${box}.stamp`, 'utf8').trim();
    const added = join(VAGRANT_HOME, 'vcproxy-lab-box.stamp');
    if (!existsSync(added) || readFileSync(added, 'utf8').trim() !== stamp) {
      say(`adding the box ${BOX} from ${box}`);
      await step(ctx, 'vagrant-box', 'vagrant', ['box', 'add', '--force', '--name', BOX, '--provider', 'lxc', box]);
      writeFileSync(added, `${stamp}\n`);
    }
    say(`box ${BOX} ready (${timings.boxMs} ms); vagrant up (router, pop-a, pop-b, client)`);
    t0 = Date.now();
    await step(ctx, 'vagrant-up', 'vagrant', ['up', '--provider=lxc']);
    timings.upMs = Date.now() - t0;
    say(`the four machines are up and provisioned in ${timings.upMs} ms`);

    const client = `${prefix}-client`;
    // The container's own environment: nothing of this one (a test runner's NODE_OPTIONS names files
    // the container does not have).
    prober = spawn('lxc-attach', ['-n', client, '--clear-env', '--set-var', 'PATH=/usr/local/bin:/usr/bin:/bin', '--', 'node', '/vagrant/dist/scripts/lab/prober.js', '--target', wk, '--bind', LAB.client.address, '--interval', '50', '--timeout', '1000'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const keep = createWriteStream(join(run, 'prober.log'));
    prober.stderr!.pipe(keep);
    createInterface({ input: prober.stdout! }).on('line', (line) => {
      keep.write(`${line}\n`);
      try {
        probes.push(JSON.parse(line) as ProbeResult);
      } catch {
        // not a probe line
      }
    });
    const viaA = (p: ProbeResult): boolean => p.ok && p.backend === backendOf('a');
    const viaB = (p: ProbeResult): boolean => p.ok && p.backend === backendOf('b');
    await waitUntil(`calls to ${wk} answered by POP a`, () => probes.some(viaA), 60_000, 50);
    say(`calls answer at ${wk} through POP a`);

    // POP move: vagrant-lxc's halt --force runs halt in the container, then lxc-stop; POP a stops
    // serving somewhere in between. The fault is the last answer POP a gave.
    const haltAt = Date.now();
    const waiter = spawn('lxc-wait', ['-n', `${prefix}-pop-a`, '-s', 'STOPPED'], { stdio: 'ignore' });
    let stoppedAt = 0;
    waiter.on('exit', () => (stoppedAt = Date.now()));
    t0 = Date.now();
    await step(ctx, 'vagrant-halt', 'vagrant', ['halt', '--force', 'pop-a']);
    timings.haltMs = Date.now() - t0;
    await waitUntil('pop-a to be stopped', () => stoppedAt > 0, 30_000, 20);
    let back = true;
    await waitUntil('a call answered by POP b after pop-a stopped', () => probes.some((p) => viaB(p) && p.sentAt >= haltAt), 30_000, 20).catch(() => (back = false));
    await settle(probes, Date.now());
    const lastA = probes.filter((p) => viaA(p) && p.sentAt >= haltAt - 1000).reduce((m, p) => Math.max(m, p.doneAt), haltAt);
    const move = outage(probes, lastA, viaB);
    figures.push({
      round: 1,
      scenario: 'POP move',
      what: 'vagrant halt --force pop-a: the container of POP a stops at once; POP b answers',
      recoveryMs: move.recoveryMs,
      gapMs: move.gapMs,
      failedProbes: move.failedProbes,
      proberStallMs: move.proberStallMs,
      detail: { haltCommandMs: timings.haltMs, containerStoppedMs: stoppedAt - lastA },
      calls: undefined,
      targets: ['new calls succeed < 1 s via the other POP'],
      missed: back && move.recoveryMs !== null && move.recoveryMs < 1000 ? [] : ['new calls succeed < 1 s via the other POP'],
    });
    say(`POP move: back after ${move.recoveryMs ?? '—'} ms, gap ${move.gapMs ?? '—'} ms`);

    // Failback: pop-a boots and is provisioned again; with automatic failback it takes the address back.
    t0 = Date.now();
    await step(ctx, 'vagrant-up-pop-a', 'vagrant', ['up', 'pop-a']);
    timings.restartMs = Date.now() - t0;
    let moved = true;
    await waitUntil('calls answered by POP a again', () => probes.some((p) => viaA(p) && p.sentAt >= t0), 60_000, 20).catch(() => (moved = false));
    await settle(probes, Date.now());
    const firstA = probes.filter((p) => viaA(p) && p.sentAt >= t0).sort((a, b) => a.sentAt - b.sentAt)[0];
    const at = firstA?.sentAt ?? Date.now();
    const fb = outage(probes, at);
    figures.push({
      round: 1,
      scenario: 'failback',
      what: 'vagrant up pop-a: POP a boots, is provisioned and takes the address back (failback automatic)',
      recoveryMs: null,
      gapMs: fb.gapMs,
      failedProbes: fb.failedProbes,
      proberStallMs: fb.proberStallMs,
      detail: { restartMs: timings.restartMs, movedAfterRestartMs: firstA ? firstA.sentAt - t0 : null, probesFailedAroundMove: failedBetween(probes, at - 2000, at + 2000) },
      calls: undefined,
      targets: ['POP a takes the address back by itself'],
      missed: moved ? [] : ['POP a takes the address back by itself'],
    });
    say(`failback: POP a answers again ${firstA ? firstA.sentAt - t0 : '—'} ms after vagrant up pop-a began`);
    signalTree(prober, 'SIGTERM');

    process.stdout.write(`\n${table(figures)}\n\n`);
    process.stdout.write(`machines: box ${timings.boxMs} ms (cached after the first build), vagrant up of the four ${timings.upMs} ms, vagrant halt --force ${timings.haltMs} ms, vagrant up pop-a ${timings.restartMs} ms\n`);
    process.stdout.write('back after: the last call POP a answered → the first new call answered via POP b; gap: last success before → first after (prober in the client container, a new call every 50 ms)\n');
    if (v.json) writeFileSync(v.json, `${JSON.stringify({ runDir: run, timings, figures }, null, 2)}\n`);
    const missed = figures.filter((f) => f.missed.length > 0).length;
    say(missed === 0 ? 'every target met' : `${missed} scenario(s) missed a target`);
    if (v.keep) {
      say(`lab left running (--keep): VAGRANT_DOTFILE_PATH=${env.VAGRANT_DOTFILE_PATH} VAGRANT_HOME=${VAGRANT_HOME} VAGRANT_DEFAULT_PROVIDER=lxc VCP_LAB_PREFIX=${prefix} vagrant ssh client; remove it with scripts/lab/vagrant-drill --cleanup --prefix ${prefix}`);
      return missed === 0 ? 0 : 1;
    }
    await clean();
    if (missed === 0 && !v['keep-logs']) rmSync(run, { recursive: true, force: true });
    else say(`vagrant output and probes: ${run}`);
    return missed === 0 ? 0 : 1;
  } catch (err) {
    say(`failed: ${(err as Error).message}`);
    if (v.json) writeFileSync(v.json, `${JSON.stringify({ runDir: run, error: (err as Error).message, timings, figures }, null, 2)}\n`);
    if (v.keep) {
      await stopRunning();
      say(`lab left as it is (--keep) for a look inside: lxc-attach -n ${prefix}-pop-a; remove it with scripts/lab/vagrant-drill --cleanup --prefix ${prefix}`);
      return 3;
    }
    await clean();
    say(`vagrant output: ${run}`);
    return 3;
  }
}

/** Every probe sent before `at` has reported (see Lab.probesSettled). */
async function settle(probes: readonly ProbeResult[], at: number): Promise<void> {
  await waitUntil('the prober to report every probe sent so far', () => {
    const later = probes.filter((p) => p.sentAt >= at);
    if (later.length === 0) return false;
    const first = Math.min(...later.map((p) => p.seq));
    const seen = new Set(probes.map((p) => p.seq));
    for (let q = 1; q < first; q++) if (!seen.has(q)) return false;
    return true;
  }, 60_000, 20);
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => process.exit(code));
