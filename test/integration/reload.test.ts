import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { metric } from '../helpers/stack.js';
import { dist, httpGet, node, requireBuild, sippPath, start, tempDir, UAS_SCENARIO, waitFor, within, writeFile, type Proc } from '../helpers/procs.js';
import { sipp } from '../system/calls.js';
import { serviceFolder } from '../helpers/run-as.js';
import { heavyTurn } from '../helpers/heavy.js';

// Reloads under load: sipp at 100 calls/s over UDP and 100 calls/s over TCP, each call its own socket
// (many room systems), through a reload that adds a worker, one that replaces every worker one at a
// time (drained by layer 1 first), one that removes a worker, and a refused one. Addresses in 127.0.52.0/24.
const WK = '127.0.52.1';
const CONN = '127.0.52.2';
const UAS = '127.0.52.10';

function config(o: { workers: number; readCacheMs?: number; technique?: string }): string {
  return `
pop: t
wellKnown: { address: ${WK}, sip: 5060, h323: 1720, ras: 1719 }
pops: [ { name: t } ]
layer1:
  # Tolerant of a busy machine: a member counts as down only after 2 s without answers.
  health: { intervalMs: 200, timeoutMs: 1000, fall: 10, rise: 2 }
  metrics: { address: ${WK}, port: 9100 }
  control: { address: ${WK}, port: 9101 }
connectors:
  - { name: c, pop: t, address: ${CONN}, workers: ${o.workers}, ports: { sipProxied: 15060, sip: 25060, health: 18080 } }
servers:
  - { name: uas, pop: t, address: ${UAS}, sipPort: 5060, sipTransport: udp, probe: none, capacity: 100000 }
techniques: { default: ${o.technique ?? 'proxy'}, classes: {} }
sip: { backendTimeoutMs: 8000, transactionTimeoutMs: 32000 }
profiles: { path: profiles, readCacheMs: ${o.readCacheMs ?? 250} }
admin: { port: 0 }
service: { drainTimeoutMs: 60000, layer1WaitMs: 20000 }
# sipp, the load tester: 200 calls/s from one address, far over the flood guard's rate.
limits: { exempt: [127.0.52.100/32] }
`;
}

/** The units' ExecReload: SIGHUP, then the outcome from the status file. */
function reload(pid: number, status: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [dist('scripts/service/reload.js'), String(pid), '--status', status, '--timeout-ms', String(within(60_000))], (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

/** A sipp UAS whose statistics (every second) say how many calls it completed: INVITE, ACK, BYE of one dialog. */
function uas(dir: string): { proc: Proc; completed: () => { ok: number; failed: number } } {
  const stat = join(dir, 'uas.csv');
  const proc = start(sippPath(), ['-sf', UAS_SCENARIO, '-i', UAS, '-p', '5060', '-t', 'u1', '-nostdin', '-bind_local', '-trace_stat', '-stf', stat, '-fd', '1'], { cwd: dir });
  return {
    proc,
    completed: () => {
      if (!existsSync(stat)) return { ok: 0, failed: 0 };
      const lines = readFileSync(stat, 'utf8').trim().split('\n');
      const head = lines[0]!.split(';');
      const last = lines[lines.length - 1]!.split(';');
      return { ok: Number(last[head.indexOf('SuccessfulCall(C)')]), failed: Number(last[head.indexOf('FailedCall(C)')]) };
    },
  };
}

/** The pid each worker's /health names. */
async function workerPids(ids: string[]): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (const id of ids) {
    // A worker between its old and its new process does not answer: no pid for it yet.
    const r = await httpGet(`http://${CONN}:${18080 + Number(id.slice(2))}/health`).catch(() => undefined);
    if (r?.status === 200) m.set(id, (JSON.parse(r.body) as { pid: number }).pid);
  }
  return m;
}

t.test('reloads under 200 calls/s (UDP and TCP): 0 failed calls, every BYE reaches its dialog', async (t) => {
  requireBuild();
  sippPath();
  // 200 calls/s through three reloads: not beside a heavy lab of the system tier (test/helpers/heavy.ts).
  t.teardown(await heavyTurn('reload under load', (l) => t.comment(l)));
  const dir = tempDir('reload');
  const file = writeFile(dir, 'config.yaml', config({ workers: 2 }));
  const backend = uas(dir);
  // Started as root, the processes run as nobody once bound: a reload reads the file as nobody, and the
  // outcome goes to a runtime directory of theirs.
  const folder = serviceFolder(dir);
  const connector = node('layer2/main.js', ['--config', file, '--connector', 'c'], { VCP_LOG_LEVEL: 'warn', RUNTIME_DIRECTORY: folder.runtimeDir('run-c') });
  const layer1 = node('layer1/main.js', ['--config', file], { VCP_LOG_LEVEL: 'info', RUNTIME_DIRECTORY: folder.runtimeDir('run-l1') });
  t.teardown(async () => {
    await Promise.all([connector.stop(), layer1.stop(), backend.proc.stop()]);
  });
  const members = async (): Promise<string> => (await httpGet(`http://${WK}:9100/metrics`)).body;
  const up = (text: string, id: string): boolean => new RegExp(`vcp_l1_member_up\\{[^}]*member="${id}"[^}]*\\} 1`).test(text);
  await waitFor('layer 1 members c/0 and c/1 up', async () => {
    const m = await members();
    return up(m, 'c/0') && up(m, 'c/1');
  });
  const pid = { c: connector.child.pid!, l1: layer1.child.pid! };
  const status = { c: join(dir, 'run-c/reload.json'), l1: join(dir, 'run-l1/reload.json') };

  // 3,000 calls each way at 100 calls/s, each held 1 s, so that calls are always in progress.
  const calls = 3000;
  const common = ['-sn', 'uac', `${WK}:5060`, '-i', '127.0.52.100', '-m', String(calls), '-r', '100', '-d', '1000', '-l', '1000'];
  const udp = sipp([...common, '-p', '5071', '-t', 'un', '-max_socket', '2000']);
  const tcp = sipp([...common, '-p', '5072', '-t', 'tn', '-max_socket', '2000']);
  const answered = async (): Promise<number> => {
    let n = 0;
    for (const id of ['c/0', 'c/1', 'c/2']) n += metric(await httpGet(`http://${CONN}:${18080 + Number(id.slice(2))}/metrics`).then((r) => r.body, () => ''), 'vcp_sip_calls_total', { outcome: 'answered' });
    return n;
  };
  await waitFor('calls flowing', async () => (await answered()) >= 300);

  // 1. A third worker and a technique change: the two running workers take the config at once.
  writeFile(dir, 'config.yaml', config({ workers: 3 }));
  const r1 = await reload(pid.c, status.c);
  t.equal(r1.code, 0, `connector reload applied: ${r1.out.trim()}`);
  t.match(r1.out, /2 worker\(s\) reconfigured at once; adding 2/);
  const l1r1 = await reload(pid.l1, status.l1);
  t.equal(l1r1.code, 0, `layer 1 reload applied: ${l1r1.out.trim()}`);
  t.match(l1r1.out, /added c\/2/);
  await waitFor('c/2 up in layer 1', async () => up(await members(), 'c/2'));

  // 2. A section a worker cannot take at once (the profile store): every worker replaced, one at a time.
  const before = await workerPids(['c/0', 'c/1', 'c/2']);
  writeFile(dir, 'config.yaml', config({ workers: 3, readCacheMs: 300 }));
  const r2 = await reload(pid.c, status.c);
  t.equal(r2.code, 0, `connector reload applied: ${r2.out.trim()}`);
  t.match(r2.out, /replacing one at a time: 0 \(profiles changed\), 1 \(profiles changed\), 2 \(profiles changed\)/);
  // Each worker answers /health with its pid: a new pid for each is a replaced worker.
  await waitFor('every worker replaced', async () => {
    const now = await workerPids(['c/0', 'c/1', 'c/2']);
    return ['c/0', 'c/1', 'c/2'].every((id) => now.get(id) !== before.get(id));
  });
  t.pass('c/0, c/1 and c/2 run in new processes');
  await waitFor('layer 1 saw the workers drain themselves', () => /member drains itself: no new flows/.test(layer1.output()), 20_000);
  t.pass('layer 1 saw the workers drain themselves');

  // 3. Back to two workers: c/2 is drained and stops for good; layer 1 lets it go.
  writeFile(dir, 'config.yaml', config({ workers: 2, readCacheMs: 300 }));
  const r3 = await reload(pid.c, status.c);
  t.equal(r3.code, 0, `connector reload applied: ${r3.out.trim()}`);
  t.match(r3.out, /removing 2/);
  const l1r3 = await reload(pid.l1, status.l1);
  t.equal(l1r3.code, 0, `layer 1 reload applied: ${l1r3.out.trim()}`);

  // 4. A broken file is refused: nothing changes, calls go on.
  writeFile(dir, 'config.yaml', config({ workers: 2, readCacheMs: 300, technique: 'teleport' }));
  const r4 = await reload(pid.c, status.c);
  t.equal(r4.code, 1, 'a refused config fails the reload');
  t.match(r4.out, /refused: .*config\.yaml: techniques\.default/, 'and says which key');
  const l1r4 = await reload(pid.l1, status.l1);
  t.equal(l1r4.code, 1, 'layer 1 refuses it too');

  const [u, c] = await Promise.all([udp, tcp]);
  t.equal(u.failed, 0, `UDP: 0 failed calls (${u.successful} successful)`) || t.comment(u.output.slice(-3000));
  t.equal(u.successful, calls, `UDP: all ${calls} calls completed`);
  t.equal(c.failed, 0, `TCP: 0 failed calls (${c.successful} successful)`) || t.comment(c.output.slice(-3000));
  t.equal(c.successful, calls, `TCP: all ${calls} calls completed`);
  // The backend counts a call complete when the BYE arrived in the dialog its INVITE opened.
  await waitFor('the backend to count every call the callers completed', () => backend.completed().ok >= u.successful + c.successful);
  t.equal(backend.completed().failed, 0, 'the backend saw no BYE outside its dialog and no call cut');
  // A lost call is rare and seen on a loaded machine only: what the processes said goes with the failure.
  if (u.failed + c.failed > 0 || backend.completed().failed > 0) {
    t.comment(`connector (warnings and errors):\n${connector.output().slice(-6000)}`);
    t.comment(`layer 1:\n${layer1.output().split('\n').filter((l) => !l.includes('"level":30')).slice(-40).join('\n')}`);
  }
  t.comment(`reload under load: ${u.successful + c.successful} calls placed through 3 reloads and a refused one, ${u.failed + c.failed} failed`);
});
