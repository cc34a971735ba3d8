import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { dist, ROOT, tempDir, within } from '../helpers/procs.js';
import { h323Calls, sipp, sippReport } from './calls.js';
import { Container } from './container.js';
import { heavyTurn } from '../helpers/heavy.js';

/**
 * The package as a user installs it: a fresh Debian 12 container (systemd as PID 1, no network but
 * its loopback), Node 20 from a local apt repository standing in for NodeSource's, then
 * `apt install ./vcproxy_*.deb` and systemctl only: calls over SIP (UDP, TCP) and H.323, kill -9 of
 * every process, a stalled event loop caught by the watchdog, reloads, an upgrade under load,
 * removal and purge. Needs root, systemd-nspawn (systemd-container), debootstrap, dpkg-repack,
 * dpkg-dev, sipp: ./scripts/install --test.
 */
const BOOT_MS = 180_000;
const timings: Array<[string, number]> = [];
let started = Date.now();
const step = (name: string): void => {
  const now = Date.now();
  timings.push([name, now - started]);
  started = now;
};

let ct: Container;
let work: string;
let v1: string;
let v2: string;
const VERSION = (JSON.parse(execFileSync('cat', [join(ROOT, 'package.json')], { encoding: 'utf8' })) as { version: string }).version;
const UPGRADE = `${VERSION}+upgrade1`;
const esc = (x: string): string => x.replace(/[.+]/g, '\\$&');

const inNet = (cmd: string, args: string[]): { cmd: string; args: string[] } => ct.netArgv(cmd, args);

async function sh(line: string, timeoutMs = 180_000): Promise<string> {
  const r = await ct.sh(line, timeoutMs);
  if (r.code !== 0) throw new Error(`in the container: ${line}: exit ${r.code}\n${r.out.slice(-3000)}`);
  return r.out;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + within(timeoutMs);
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A unit's main process, once it has one (0 while systemd restarts it: `kill -9 0` would signal a whole process group). */
async function mainPid(unit: string): Promise<number> {
  let pid = 0;
  await until(`${unit} with a main process`, async () => (pid = Number((await ct.exec(['systemctl', 'show', '-p', 'MainPID', '--value', unit])).out.trim())) > 1);
  return pid;
}

/** kill -9 of one process of the container, never of a group. */
async function kill9(pid: number | undefined, what: string): Promise<void> {
  if (!(pid !== undefined && pid > 1)) throw new Error(`no process to kill for ${what} (pid ${String(pid)})`);
  await sh(`kill -9 ${pid}`);
}
const active = async (unit: string): Promise<boolean> => (await ct.exec(['systemctl', 'is-active', unit])).out.trim() === 'active';
const UNITS = ['vcproxy-layer1.service', 'vcproxy-connector@local.service', 'vcproxy-backends.service'];

/** Layer 1 counts every worker of the connector up (its metrics, from inside the container). */
async function membersUp(): Promise<boolean> {
  const m = (await ct.exec(['curl', '-s', 'http://127.0.0.1:9100/metrics'])).out;
  const up = [...m.matchAll(/^vcp_l1_member_up\{[^}]*\} (\d)/gm)].map((x) => x[1]);
  return up.length > 0 && up.every((v) => v === '1');
}

/**
 * Layer 1's failed member probes, UDP flows moved to another member (a moved flow leaves its dialogs
 * behind), failed connects to members and client connections closed for want of a member, so far.
 */
async function layer1Events(): Promise<{ probeFailures: number; repicks: number; connectErrors: number; noMember: number }> {
  const m = (await ct.exec(['curl', '-s', 'http://127.0.0.1:9100/metrics'])).out;
  const sum = (name: string): number => [...m.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce((n, x) => n + Number(x[1]), 0);
  return {
    probeFailures: sum('vcp_l1_health_probe_failures_total'),
    repicks: sum('vcp_l1_udp_repicks_total'),
    connectErrors: sum('vcp_l1_connect_errors_total'),
    noMember: sum('vcp_l1_tcp_no_member_total'),
  };
}

/** Pids of the connector's workers (children of its supervisor). */
async function workerPids(): Promise<number[]> {
  const sup = await mainPid('vcproxy-connector@local.service');
  const out = (await ct.exec(['ps', '-o', 'pid=', '--ppid', String(sup)])).out;
  return out.split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);
}

async function callsComplete(t: Test, label: string, n = 100): Promise<void> {
  const udp = await sipp(['-sn', 'uac', '127.0.0.1:5060', '-i', '127.0.0.1', '-p', '5071', '-t', 'u1', '-m', String(n), '-r', '50'], inNet);
  t.equal(udp.failed, 0, `${label}: SIP over UDP, no failed call`);
  t.equal(udp.successful, n, `${label}: SIP over UDP, ${n} calls completed`) || t.comment(sippReport(udp));
  const tcp = await sipp(['-sn', 'uac', '127.0.0.1:5060', '-i', '127.0.0.1', '-p', '5072', '-t', 't1', '-m', String(n), '-r', '50'], inNet);
  t.equal(tcp.failed, 0, `${label}: SIP over TCP, no failed call`);
  t.equal(tcp.successful, n, `${label}: SIP over TCP, ${n} calls completed`) || t.comment(sippReport(tcp));
  const h = await h323Calls('127.0.0.1:1720', 20, 10, inNet);
  t.equal(h.failed, 0, `${label}: H.323, no failed call`);
  t.equal(h.successful, 20, `${label}: H.323, 20 calls connected`) || t.comment(h.output.slice(-2000));
}

let release = (): void => undefined;

t.before(async () => {
  release = await heavyTurn('the package in a container', (l) => t.comment(l));
  work = tempDir('install');
  const debs = join(work, 'debs');
  mkdirSync(debs);
  for (const version of [VERSION, UPGRADE]) {
    execFileSync(process.execPath, [dist('scripts/package/build.js'), '--version', version, '--out', debs, '--compression', 'gzip'], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  [v1, v2] = [VERSION, UPGRADE].map((v) => `/srv/debs/vcproxy_${v}_amd64.deb`) as [string, string];
  step('build the package twice (npm run package)');
  const rootfs = execFileSync(join(ROOT, 'scripts/lab/rootfs'), { encoding: 'utf8' }).trim().split('\n').pop()!;
  const repo = execFileSync(join(ROOT, 'scripts/package/node-repo'), [rootfs], { encoding: 'utf8' }).trim().split('\n').pop()!;
  step('root file system and Node 20 repository (cached)');
  ct = await Container.boot([{ host: debs, inside: '/srv/debs' }, { host: repo, inside: '/srv/node-repo' }], BOOT_MS);
  step('boot the container');
});

t.teardown(async () => {
  await ct?.destroy();
  release();
  if (work) rmSync(work, { recursive: true, force: true });
  step('power off and remove the container');
  t.comment(`steps: ${timings.map(([n, ms]) => `${n} ${(ms / 1000).toFixed(1)} s`).join('; ')}`);
});

t.test('apt install ./vcproxy_*.deb starts every role of the shipped config', async (t) => {
  // What docs/install.md tells a user: a repository with Node 20, then the package.
  await sh('echo "deb [trusted=yes] file:/srv/node-repo ./" > /etc/apt/sources.list.d/node20.list');
  await sh('apt-get update -q -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/node20.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0');
  const out = await sh(`DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${v1}`, 300_000);
  t.match(out, /Setting up vcproxy/, 'the package is set up');
  step('apt install');
  for (const u of UNITS) await until(`${u} active`, () => active(u));
  t.pass('layer 1, the connector and the built-in backends are active');
  t.equal((await ct.exec(['systemctl', 'is-enabled', 'vcproxy.target'])).out.trim(), 'enabled', 'vcproxy.target is enabled');
  const user = await sh('ps -o user= -p $(systemctl show -p MainPID --value vcproxy-connector@local.service)');
  t.equal(user.trim(), 'vcproxy', 'the connector runs as the vcproxy user');
  t.match(await sh('stat -c "%U %a" /var/lib/vcproxy'), /vcproxy 750/, 'state in /var/lib/vcproxy, owned by vcproxy');
  t.match(await sh('stat -c "%G %a" /etc/vcproxy/vcproxy.yaml'), /vcproxy 640/, 'the config is readable by the service user only');
  t.match(await sh('journalctl -u vcproxy-connector@local.service -o cat --no-pager | grep -m1 "connector ready"'), /"msg":"connector ready"/, 'pino JSON lines in the journal');
  // Layer 1 relays TCP with the allocator setting of its unit (shared/allocator.ts), and says so.
  let ready = '';
  await until('layer 1 ready in the journal', async () => (ready = (await ct.sh('journalctl -u vcproxy-layer1.service -o cat --no-pager | grep -m1 "layer 1 ready"', 30_000)).out).includes('layer 1 ready'));
  t.match(ready, /"allocator":"trim_threshold 67108864"/, 'layer 1 runs with the trim threshold of its unit');
  step('units active');
});

t.test('systemd-analyze security: exposure of each unit', async (t) => {
  for (const u of [...UNITS, 'vcproxy-layer1@a1.service', 'vcproxy-edge@a.service']) {
    const r = await ct.exec(['systemd-analyze', 'security', '--no-pager', u]);
    const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.out);
    t.ok(m, `${u}: exposure reported`) || t.comment(r.out.slice(-1500));
    const level = Number(m?.[1] ?? 99);
    t.comment(`systemd-analyze security ${u}: ${level}`);
    t.ok(level < 3, `${u}: exposure ${level} below 3`);
  }
});

t.test('SIP (UDP, TCP) and H.323 calls complete', async (t) => {
  await callsComplete(t, 'after install');
  step('calls after install');
});

t.test('kill -9 of any process: systemd or the supervisor brings it back', async (t) => {
  for (const unit of UNITS) {
    const before = await mainPid(unit);
    await kill9(before, unit);
    await until(`${unit} back with a new main process`, async () => (await active(unit)) && (await mainPid(unit)) !== before, 60_000);
    t.pass(`${unit}: killed and started again by systemd`);
  }
  const workers = await workerPids();
  t.ok(workers.length >= 1, `the connector has workers (${workers.length})`);
  await kill9(workers[0], 'a worker');
  await until('the worker replaced', async () => {
    const now = await workerPids();
    return now.length === workers.length && !now.includes(workers[0]!);
  });
  t.pass('a worker killed with -9 is started again by the supervisor');
  await until('layer 1 sees every worker up again', membersUp);
  await callsComplete(t, 'after kill -9', 50);
  step('kill -9 and recovery');
});

t.test('a stalled event loop is restarted by the watchdog', async (t) => {
  const unit = 'vcproxy-connector@local.service';
  // A short watchdog for the test, as an operator's drop-in would set it.
  await sh(`mkdir -p /etc/systemd/system/${unit}.d && printf "[Service]\\nWatchdogSec=3s\\n" > /etc/systemd/system/${unit}.d/watchdog.conf && systemctl daemon-reload && systemctl restart ${unit}`);
  await until(`${unit} active`, () => active(unit));
  const before = await mainPid(unit);
  if (!(before > 1)) throw new Error(`no main process of ${unit}`);
  await sh(`kill -STOP ${before}`);
  await until('the watchdog to restart the connector', async () => (await active(unit)) && (await mainPid(unit)) !== before, 60_000);
  t.match(await sh(`journalctl -u ${unit} --no-pager | grep -i watchdog || true`), /[Ww]atchdog timeout/, 'systemd logged the watchdog timeout');
  await sh(`rm -r /etc/systemd/system/${unit}.d && systemctl daemon-reload && systemctl restart ${unit}`);
  for (const u of UNITS) await until(`${u} active`, () => active(u));
  await until('layer 1 sees every worker up again', membersUp);
  step('watchdog');
});

/** sipp at 100 calls/s over UDP and over TCP (a socket per call), each call held 1 s, while `during` runs. */
async function underLoad(t: Test, label: string, during: () => Promise<void>): Promise<void> {
  const calls = 2000;
  const common = ['-sn', 'uac', '127.0.0.1:5060', '-i', '127.0.0.1', '-m', String(calls), '-r', '100', '-d', '1000', '-l', '1000', '-max_socket', '2000'];
  const l1Before = await layer1Events();
  const since = (await sh('date +%s')).trim();
  const udp = sipp([...common, '-p', '5081', '-t', 'un'], inNet);
  const tcp = sipp([...common, '-p', '5082', '-t', 'tn'], inNet);
  await during();
  const [u, c] = await Promise.all([udp, tcp]);
  const l1After = await layer1Events();
  const d = (k: keyof typeof l1After): number => l1After[k] - l1Before[k];
  t.comment(`${label}: layer 1 counted ${d('probeFailures')} failed probes of members, moved ${d('repicks')} UDP flows to another member, ` +
    `${d('connectErrors')} failed connects or ICMP errors towards members, ${d('noMember')} connections closed for want of a member`);
  t.equal(u.failed, 0, `${label}: UDP, 0 failed calls`) || t.comment(sippReport(u));
  t.equal(u.successful, calls, `${label}: UDP, ${calls} calls completed`) || t.comment(sippReport(u));
  t.equal(c.failed, 0, `${label}: TCP, 0 failed calls`) || t.comment(sippReport(c));
  t.equal(c.successful, calls, `${label}: TCP, ${calls} calls completed`) || t.comment(sippReport(c));
  t.comment(`${label}: ${u.successful + c.successful} calls completed, ${u.failed + c.failed} failed`);
  if (u.failed !== 0 || c.failed !== 0 || u.successful !== calls || c.successful !== calls) {
    // What the appliance said of it: its warnings and errors since the load started (pino level ≥ 40).
    const journal = await sh(`journalctl -u 'vcproxy-*' --since @${since} --no-pager -o cat | grep -E '"level":(40|50|60)' | tail -60 || true`);
    t.comment(`${label}: the appliance's warnings and errors meanwhile:\n${journal.slice(-8000) || '(none)'}`);
    // Every line it logged meanwhile, counted by unit, process and message; and the first refused decisions.
    const counts = await sh(`journalctl -u 'vcproxy-*' --since @${since} --no-pager -o cat | sed -nE 's/.*"role":"([^"]*)".*"pid":([0-9]+).*"msg":"([^"]*)".*/\\1 pid \\2: \\3/p' | sort | uniq -c | sort -rn | head -40 || true`);
    t.comment(`${label}: what the appliance logged meanwhile (count, role, process, message):\n${counts.slice(-6000)}`);
    const refused = await sh(`journalctl -u 'vcproxy-*' --since @${since} --no-pager -o cat | grep '"msg":"decision"' | grep '"server":""' | head -3 || true`);
    t.comment(`${label}: the first refused decisions:\n${refused.slice(0, 4000) || '(none)'}`);
  }
}

const workerPidsIn = async (): Promise<string> => (await workerPids()).sort().join(',');

t.test('systemctl reload under load: a refused file changes nothing, a good one applies', async (t) => {
  await sh("cp /etc/vcproxy/vcproxy.yaml /root/vcproxy.yaml.orig && sed -i 's/^  default: proxy$/  default: teleport/' /etc/vcproxy/vcproxy.yaml");
  const bad = await ct.exec(['systemctl', 'reload', 'vcproxy-connector@local.service']);
  t.not(bad.code, 0, 'systemctl reload fails on a refused file');
  t.match(await sh('journalctl -u vcproxy-connector@local.service --no-pager -o cat | grep -m1 "refused" || true'), /techniques\.default/, 'the journal names the key');
  t.ok(await active('vcproxy-connector@local.service'), 'the connector goes on');
  await sh('cp /root/vcproxy.yaml.orig /etc/vcproxy/vcproxy.yaml');
  const before = await workerPidsIn();
  await underLoad(t, 'reload', async () => {
    await new Promise((r) => setTimeout(r, 3000));
    // A section a worker reads at start: every worker is replaced one at a time, drained first.
    await sh("sed -i 's|^  path: /var/lib/vcproxy/profiles$|  path: /var/lib/vcproxy/profiles\\n  readCacheMs: 300|' /etc/vcproxy/vcproxy.yaml");
    const r = await ct.exec(['systemctl', 'reload', 'vcproxy-connector@local.service', 'vcproxy-layer1.service']);
    t.equal(r.code, 0, 'systemctl reload succeeds') || t.comment(r.out);
    await until('every worker replaced', async () => {
      const now = (await workerPids()).sort();
      return now.length >= 2 && now.every((p) => !before.split(',').includes(String(p)));
    }, 300_000);
  });
  step('reload under load');
});

t.test('apt install of a newer package under load: workers move to the new code, 0 failed calls', async (t) => {
  const before = await workerPidsIn();
  await underLoad(t, 'upgrade', async () => {
    await new Promise((r) => setTimeout(r, 3000));
    const out = await sh(`DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${v2}`, 300_000);
    t.match(out, new RegExp(`Setting up vcproxy \\(${esc(UPGRADE)}\\)`), 'the newer package is set up');
    await until('every worker replaced by the new code', async () => {
      const now = (await workerPids()).sort();
      return now.length >= 2 && now.every((p) => !before.split(',').includes(String(p)));
    }, 300_000);
  });
  // The last replacement may still be starting (its pid exists before it listens, and layer 1 counts
  // a member down only after `fall` probes): wait until each worker answers, then read its version.
  const versions: string[] = [];
  // As many workers as layer 1 has members (a retiring worker may still be a child of the supervisor).
  const workers = [...(await ct.exec(['curl', '-s', 'http://127.0.0.1:9100/metrics'])).out.matchAll(/^vcp_l1_member_up\{/gm)].length;
  for (let i = 0; i < workers; i++) {
    const port = 18080 + i;
    await until(`worker on ${port} serving its metrics`, async () => (await ct.exec(['curl', '-sf', `http://127.0.0.1:${port}/metrics`])).code === 0);
    versions.push((await sh(`curl -sf http://127.0.0.1:${port}/metrics`)).match(/vcp_build_info\{[^}]*role="worker"[^}]*version="([^"]+)"/)?.[1] ?? '');
  }
  t.same(versions, Array.from({ length: workers }, () => UPGRADE), `every worker (${workers}) runs the new version`);
  await until('layer 1 sees every worker up', membersUp);
  for (const u of UNITS) t.ok(await active(u), `${u} still active`);
  step('upgrade under load');
});

t.test('remove stops every unit; purge removes the state', async (t) => {
  await sh('DEBIAN_FRONTEND=noninteractive apt-get remove -y -q vcproxy', 180_000);
  for (const u of UNITS) t.not((await ct.exec(['systemctl', 'is-active', u])).out.trim(), 'active', `${u} is stopped`);
  t.equal((await ct.exec(['sh', '-c', 'ss -Hlnu "sport = :5060" | wc -l'])).out.trim(), '0', 'nothing listens on 5060 any more');
  t.equal((await ct.exec(['test', '-d', '/var/lib/vcproxy'])).code, 0, 'remove keeps the learned profiles');
  await sh('DEBIAN_FRONTEND=noninteractive apt-get purge -y -q vcproxy', 180_000);
  t.not((await ct.exec(['test', '-d', '/var/lib/vcproxy'])).code, 0, 'purge removes /var/lib/vcproxy');
  t.not((await ct.exec(['test', '-e', '/etc/vcproxy/vcproxy.yaml'])).code, 0, 'purge removes the conffile');
  step('remove and purge');
});

