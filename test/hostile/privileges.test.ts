import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { dist, httpGet, requireTool, runSipp, sippPath, start, startSippUas, tempDir, waitFor, within, writeFile } from '../helpers/procs.js';
import { metric, startStack } from '../helpers/stack.js';

// What a bug reached by hostile input could do next: every long-lived process runs without root
// (supplementary groups gone too), an error nothing caught ends the process instead of leaving it
// half alive, and a profile store that can no longer be written costs learning, not calls.
// Addresses in 127.0.46.0/24.
const WK = '127.0.46.1';
const CONN = '127.0.46.2';
const UAS = '127.0.46.10';
const UAC = '127.0.46.100';
const root = typeof process.getuid === 'function' && process.getuid() === 0;

function status(pid: number): { uid: string; gid: string; groups: string; capEff: string } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): string => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(s)?.[1]?.trim() ?? '';
  return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups'), capEff: field('CapEff') };
}

const children = (pid: number): number[] => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);

t.before(() => {
  sippPath();
});

t.test('started as root, every process gives up root once bound: layer 1, the supervisor, its workers', { skip: !root && 'needs root' }, async (t) => {
  const stack = await startStack(`
pop: t
wellKnown: { address: ${WK}, sip: 5060 }
pops: [ { name: t } ]
layer1:
  metrics: { address: ${WK}, port: 9100 }
  control: { address: ${WK}, port: 9101 }
connectors:
  - { name: c, pop: t, address: ${CONN}, workers: 2, ports: { sipProxied: 15060, sip: 25060, health: 18080 } }
servers:
  - { name: s, pop: t, address: ${UAS}, sipPort: 5060, probe: none }
admin: { port: 9300 }
limits: { exempt: [${UAC}/32] }
`, { env: { VCP_LOG_LEVEL: 'info' } });
  t.teardown(() => stack.stop());
  const supervisor = stack.connectors.get('c')!.child.pid!;
  const nobody = execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim();
  const procs = { 'layer 1': stack.layer1!.child.pid!, supervisor, 'worker c/0': await stack.workerPid('c/0'), 'worker c/1': await stack.workerPid('c/1') };
  for (const [name, pid] of Object.entries(procs)) {
    await waitFor(`${name} unprivileged`, () => status(pid).uid.split(/\s+/).every((u) => u === nobody), 20_000);
    const s = status(pid);
    t.same(s.uid.split(/\s+/), [nobody, nobody, nobody, nobody], `${name}: real, effective, saved and file-system uid are nobody`);
    t.equal(s.groups, '', `${name}: no supplementary group`);
    t.equal(s.capEff, '0000000000000000', `${name}: no capability`);
  }
  t.equal((await httpGet(`http://${CONN}:9300/health`)).status, 200, 'the supervisor\'s admin API serves after the drop');

  // A worker that dies is started by the unprivileged supervisor: unprivileged from the start, and
  // it reaches the profile store, whose folder's parents root made private.
  const old = procs['worker c/0'];
  process.kill(old, 'SIGKILL');
  let fresh = 0;
  await waitFor('the worker started again', () => {
    fresh = children(supervisor).find((k) => k !== old && readFileSync(`/proc/${k}/cmdline`, 'utf8').includes('--index\u00000')) ?? 0;
    return fresh > 0;
  }, 30_000);
  await waitFor('and serving', async () => (await httpGet(`http://${CONN}:18080/health`)).status === 200, 30_000);
  t.equal(status(fresh).uid.split(/\s+/)[0], nobody, 'the new worker runs as nobody');
  const uas = startSippUas(UAS, 5060, 'u1');
  t.teardown(() => uas.stop());
  const r = await runSipp(['-sn', 'uac', `${CONN}:25060`, '-i', UAC, '-p', '5061', '-t', 'u1', '-m', '20', '-r', '20']);
  t.equal(r.successful, 20, 'it carries calls');
  // A reload after the drop keeps the token keys read while root (the key file stays root's): the
  // workers still sign and verify. The config itself must be readable by runAs, as /etc/vcproxy is:
  // the test's private folders are opened for that.
  // The file changes (a limit, applied at once), so the host services start again on it and read the
  // admin token file again, which root created before the drop.
  for (let d = dirname(stack.file); d !== tmpdir() && d !== '/'; d = dirname(d)) chmodSync(d, 0o711);
  writeFileSync(stack.file, readFileSync(stack.file, 'utf8').replace(`exempt: [${UAC}/32]`, `exempt: [${UAC}/32, 192.0.2.0/24]`));
  process.kill(supervisor, 'SIGHUP');
  await waitFor('the reload done', () => /configuration (reloaded|refused|applied to the workers)/.test(stack.connectors.get('c')!.output()), 30_000);
  t.match(stack.connectors.get('c')!.output(), /configuration reloaded: changed: limits/, 'the changed file is taken');
  t.notMatch(stack.connectors.get('c')!.output(), /configuration refused|configuration applied to the workers, but|VCP_ERR_TOKEN_KEY|VCP_ERR_ADMIN_TOKEN/, 'no token key or admin token error on the reload');
  t.equal((await httpGet(`http://${CONN}:9300/health`)).status, 200, 'the admin API serves again after the reload');
  await waitFor('it learned from them (the store is writable)', async () => metric(await stack.workerMetrics('c/0'), 'vcp_decision_outcomes_total') >= 20 && metric(await stack.workerMetrics('c/0'), 'vcp_profile_write_errors_total') === 0, 20_000);
});

t.test('an error nothing caught ends the process with status 70 and one fatal line; leaving on purpose stays 0', async (t) => {
  const dir = tempDir('crash');
  const script = (body: string): string => writeFile(dir, `${Math.random().toString(36).slice(2)}.mjs`, `
import { createLogger } from '${dist('shared/logger.js')}';
import { exitProcess, installCrashPolicy } from '${dist('shared/crash.js')}';
const log = createLogger('worker');
installCrashPolicy(log);
${body}
setInterval(() => undefined, 1000);
`);
  const run = async (body: string): Promise<{ code: number | null; out: string }> => {
    const p = start(process.execPath, [script(body)]);
    const code = await p.exited;
    return { code, out: p.output() };
  };
  const thrown = await run(`setTimeout(() => { throw new Error('a bug reached by a message'); }, 20);`);
  t.equal(thrown.code, 70, 'uncaught exception: exit 70');
  const line = thrown.out.split('\n').find((l) => l.includes('VCP_ERR_UNCAUGHT'));
  t.match(JSON.parse(line ?? '{}'), { level: 60, code: 'VCP_ERR_UNCAUGHT', origin: 'uncaughtException', err: { message: 'a bug reached by a message' } }, 'one fatal line with the error');
  const rejected = await run(`setTimeout(() => { void Promise.reject(new Error('nobody listened')); }, 20);`);
  t.equal(rejected.code, 70, 'unhandled rejection: exit 70');
  t.match(rejected.out, /"origin":"unhandledRejection".*nobody listened/);
  const leaving = await run(`process.on('exit', () => { throw new Error('an exit hook that fails'); }); setTimeout(() => exitProcess(0), 20);`);
  t.equal(leaving.code, 0, 'an exit on purpose is not turned into a crash by a failing exit hook');
});

t.test('a profile store on a full disk: calls go on, writes are counted, /health says degraded, nothing restarts', { skip: !root && 'needs root (a mount namespace)' }, async (t) => {
  requireTool('unshare', 'util-linux');
  requireTool('nsenter', 'util-linux');
  const dir = tempDir('full');
  const store = join(dir, 'store');
  execFileSync('mkdir', ['-p', store]);
  const file = writeFile(dir, 'config.yaml', `
pop: t
wellKnown: { address: ${WK}, sip: 5060 }
pops: [ { name: t } ]
connectors:
  - { name: c, pop: t, address: ${CONN}, workers: 1, ports: { sip: 25060, health: 18080 } }
servers:
  - { name: s, pop: t, address: ${UAS}, sipPort: 5060, probe: none }
profiles: { path: ${store}/profiles }
admin: { port: 0 }
limits: { exempt: [${UAC}/32] }
`);
  // The store on a small tmpfs in a mount namespace of the connector's own: gone with it.
  const conn = start('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=4m tmpfs ${store} && exec ${process.execPath} ${dist('layer2/main.js')} --config ${file}`], { env: { VCP_LOG_LEVEL: 'warn' } });
  t.teardown(() => conn.stop());
  await waitFor('the worker', async () => (await httpGet(`http://${CONN}:18080/health`)).status === 200, 30_000);
  const worker = children(conn.child.pid!)[0]!;
  const uas = startSippUas(UAS, 5060, 'u1');
  t.teardown(() => uas.stop());
  // The disk fills up before the first call: every write that needs a page more fails. The filler goes
  // into the connector's own mount namespace (checked), and is bounded even so.
  const ns = (pid: number | 'self'): string => execFileSync('readlink', [`/proc/${pid}/ns/mnt`], { encoding: 'utf8' }).trim();
  t.not(ns(conn.child.pid!), ns('self'), 'the connector has a mount namespace of its own');
  execFileSync('nsenter', ['-t', String(conn.child.pid), '-m', '--', 'sh', '-c', `head -c 8388608 /dev/zero > ${store}/filler 2>/dev/null; true`]);
  const during = await runSipp(['-sn', 'uac', `${CONN}:25060`, '-i', UAC, '-p', '5063', '-t', 'u1', '-m', '200', '-r', '50']);
  t.equal(during.failed, 0, `no call failed on a full disk\n${conn.output().split('\n').filter((l) => !l.includes('"level":30')).slice(-20).join('\n')}`);
  t.equal(during.successful, 200);
  await waitFor('writes counted as failed', async () => metric(await httpGet(`http://${CONN}:18080/metrics`).then((r) => r.body), 'vcp_profile_write_errors_total') > 0, 20_000);
  const health = await httpGet(`http://${CONN}:18080/health`);
  t.equal(health.status, 200, 'the worker stays in service (layer 1 keeps it)');
  t.match(JSON.parse(health.body), { status: 'degraded', alarms: [{ code: 'VCP_ERR_PROFILE_WRITE', message: /writes failing/ }] }, '/health names the alarm');
  t.equal(metric((await httpGet(`http://${CONN}:18080/metrics`)).body, 'vcp_profile_store_write_failing'), 1);
  t.equal(children(conn.child.pid!)[0], worker, 'the worker was not restarted');
  t.ok(conn.output().split('\n').filter((l) => l.includes('profile write failed')).length <= 5, 'a few log lines a minute, not one per write');

  execFileSync('nsenter', ['-t', String(conn.child.pid), '-m', '--', 'rm', '-f', `${store}/filler`]);
  const after = await runSipp(['-sn', 'uac', `${CONN}:25060`, '-i', UAC, '-p', '5064', '-t', 'u1', '-m', '10', '-r', '10']);
  t.equal(after.successful, 10, `calls again once there is room\n${conn.output().split('\n').filter((l) => /"level":(50|60)|restarting/.test(l)).slice(-5).join('\n')}`);
  await waitFor('the alarm clears once writes succeed', async () => JSON.parse((await httpGet(`http://${CONN}:18080/health`)).body).status === 'ok', within(20_000));
  t.equal(conn.child.exitCode, null, 'the supervisor lives on (what the worker wrote after the disk filled decodes in every process)');
  t.equal(children(conn.child.pid!)[0], worker, 'and the worker is the same process');
});

t.test('started as root with VCP_LOG_FILE: every worker logs to the file from its start, and again when restarted without root', { skip: !root && 'needs root' }, async (t) => {
  const dir = tempDir('logfile');
  const file = join(dir, 'log/vcproxy.log');
  const stack = await startStack(`
pop: t
wellKnown: { address: ${WK}, sip: 5060 }
pops: [ { name: t } ]
connectors:
  - { name: c, pop: t, address: ${CONN}, workers: 2, ports: { sip: 25060, health: 18080 } }
servers:
  - { name: s, pop: t, address: ${UAS}, sipPort: 5060, probe: none }
`, { layer1: false, env: { VCP_LOG_FILE: file, VCP_LOG_LEVEL: 'info' } });
  t.teardown(() => stack.stop());
  // A worker the unprivileged supervisor starts again must reach the file, as in /var/log/vcproxy.
  for (let d = dirname(file); d !== tmpdir() && d !== '/'; d = dirname(d)) chmodSync(d, 0o711);
  const events = (): Array<{ msg?: string; worker?: string; role?: string }> =>
    readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; worker?: string; role?: string });
  await waitFor('"connector ready" in the file', () => events().some((e) => e.msg === 'connector ready'), 20_000);
  t.same(events().filter((e) => e.msg === 'worker exited, restarting'), [], 'no worker failed at its start');
  for (const w of ['c/0', 'c/1']) t.ok(events().some((e) => e.worker === w && e.msg === 'worker ready'), `${w} logged to the file`);
  process.kill(await stack.workerPid('c/0'), 'SIGKILL');
  await waitFor('the worker started again, without root, logs to the file', () => events().filter((e) => e.worker === 'c/0' && e.msg === 'worker ready').length === 2, 20_000);
  t.pass('c/0, started again without root, logged "worker ready" to the file');
  t.notMatch(stack.connectors.get('c')!.output(), /EACCES|VCP_ERR_UNCAUGHT|VCP_ERR_LOG_FILE/, 'no error opening the file');
});
