import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, rmSync } from 'node:fs';
import { parseConfig } from '../../shared/config/load.js';
import { createLogger } from '../../shared/logger.js';
import { TRIM_THRESHOLD_BYTES } from '../../shared/allocator.js';
import { H323Metrics } from '../../layer2/h323/metrics.js';
import { H323Transport } from '../../layer2/h323/transport.js';
import { SipTransport, type Flow } from '../../layer2/sip/transport.js';
import { startWorker } from '../../layer2/worker.js';
import { Registry } from 'prom-client';
import { dist, httpGet, requireBuild, tempDir, waitFor, writeFile } from '../helpers/procs.js';

// Stopping is clean: a second stop signal, and sends after close, do not throw. Addresses in 127.0.51.0/24.
const log = createLogger('test');
log.level = 'silent';

t.test('a SIP transport closes twice and drops what is sent after close', async (t) => {
  let flow: Flow | undefined;
  const tr = new SipTransport(
    { address: '127.0.51.2', port: 25060, proxiedPort: 15060, wellKnown: { address: '127.0.51.1', port: 5060 }, maxMessageBytes: 65535, headerTimeoutMs: 1000, idleTimeoutMs: 10000 },
    { onMessage: (_b, f) => (flow = f), onStreamError: () => undefined, onPeerFailed: () => undefined },
    log,
  );
  await tr.start();
  const client = createSocket('udp4');
  t.teardown(() => client.close());
  await waitFor('a datagram to make a UDP flow', () => {
    client.send('OPTIONS sip:x SIP/2.0\r\n\r\n', 25060, '127.0.51.2');
    return flow !== undefined;
  });
  await Promise.all([tr.close(), tr.close()]);
  await tr.close();
  t.doesNotThrow(() => flow!.send(Buffer.from('late')), 'a flow of a closed transport drops the send');
  t.equal(flow!.isOpen(), false, 'and says it is not open');
  t.doesNotThrow(() => tr.sendTo({ transport: 'udp', address: '127.0.51.3', port: 5060 }, Buffer.from('late')), 'sendTo after close is dropped');
});

t.test('an H.323 transport closes twice', async (t) => {
  const tr = new H323Transport(
    { address: '127.0.51.2', port: 21720, proxiedPort: 0, rasPort: 21719, rasProxiedPort: 11719, wellKnown: { address: '127.0.51.1', h323: 1720, ras: 1719 }, maxMessageBytes: 65535, headerTimeoutMs: 1000, idleTimeoutMs: 10000 },
    { accept: () => ({ message: () => undefined, broken: () => undefined, closed: () => undefined }), ras: () => undefined },
    new H323Metrics(new Registry()),
    log,
  );
  await tr.start();
  await Promise.all([tr.close(), tr.close()]);
  t.pass('closed twice');
});

t.test('a worker handle closes twice', async (t) => {
  const dir = t.testdir();
  const config = parseConfig(`
pop: t
wellKnown: { address: 127.0.51.1 }
pops: [ { name: t } ]
connectors:
  - { name: c, pop: t, address: 127.0.51.2, workers: 1, ports: { sipProxied: 15060, sip: 25060, rasProxied: 11719, ras: 21719, health: 18080 } }
servers: [ { name: b, pop: t, address: 127.0.51.10, sipPort: 5060, probe: none } ]
profiles: { path: profiles }
`, `${dir}/stop.yaml`);
  const w = await startWorker(config, config.connectors[0]!.endpoints[0]!, log);
  await Promise.all([w.close(), w.close()]);
  t.pass('closed twice');
});

const CONFIG = `
pop: t
wellKnown: { address: 127.0.51.1, sip: 5060, h323: 1720, ras: 1719 }
pops: [ { name: t } ]
layer1:
  health: { intervalMs: 100, timeoutMs: 100, fall: 2, rise: 1 }
  metrics: { address: 127.0.51.1, port: 9100 }
  control: { address: 127.0.51.1, port: 9101 }
connectors:
  - { name: c, pop: t, address: 127.0.51.2, workers: 2, ports: { sipProxied: 15060, sip: 25060, h323Proxied: 11720, h323: 21720, rasProxied: 11719, ras: 21719, health: 18080 } }
servers: [ { name: b, pop: t, address: 127.0.51.10, sipPort: 5060, h323Port: 1720, probe: none } ]
profiles: { path: profiles }
admin: { port: 0 }
`;

function spawnGroup(t: Test, dir: string, script: string, args: string[]): { exit: Promise<number | null>; output: () => string; pid: number } {
  const child = spawn(process.execPath, [dist(script), ...args], { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VCP_LOG_LEVEL: 'info' } });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  });
  return { exit, output: () => out, pid: child.pid! };
}

t.test('a worker signalled twice at once (SIGTERM, then SIGINT) closes once and exits 0', async (t) => {
  requireBuild();
  const dir = tempDir('stop');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = writeFile(dir, 'config.yaml', CONFIG);
  const w = spawnGroup(t, dir, 'layer2/worker.js', ['--config', file, '--connector', 'c', '--index', '0']);
  await waitFor('worker ready', () => w.output().includes('worker ready'), 30_000);
  process.kill(w.pid, 'SIGTERM');
  process.kill(w.pid, 'SIGINT');
  t.equal(await w.exit, 0, 'exit code 0');
  t.notMatch(w.output(), /ERR_SOCKET|Error \[/, 'no error while stopping');
});

/**
 * systemd stops a unit by signalling every process of its control group at once (KillMode=
 * control-group), and the supervisor signals its workers as well: each worker gets SIGTERM twice.
 */
t.test('SIGTERM to the whole process group: the connector and layer 1 exit 0, every worker stops cleanly', async (t) => {
  requireBuild();
  const dir = tempDir('stop');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = writeFile(dir, 'config.yaml', CONFIG);
  const run = (script: string): ReturnType<typeof spawnGroup> => spawnGroup(t, dir, script, ['--config', file]);
  const connector = run('layer2/main.js');
  const layer1 = run('layer1/main.js');
  await waitFor('connector ready', () => connector.output().includes('connector ready'), 30_000);
  await waitFor('layer 1 members up', async () => (await httpGet('http://127.0.51.1:9101/health')).status === 200, 30_000);
  for (const p of [connector, layer1]) process.kill(-p.pid, 'SIGTERM');
  t.equal(await connector.exit, 0, 'the connector exits 0');
  t.equal(await layer1.exit, 0, 'layer 1 exits 0');
  const out = connector.output();
  t.equal(out.split('\n').filter((l) => l.includes('"worker stopped"')).length, 2, 'both workers stopped');
  t.notMatch(out, /did not stop cleanly|ERR_SOCKET|Error \[/, 'no worker failed while stopping');
  t.notMatch(layer1.output(), /ERR_SOCKET|Error \[/, 'layer 1 stopped without an error');
});

t.test('a worker whose event loop stalls is killed and started again by the supervisor', async (t) => {
  requireBuild();
  const dir = tempDir('stall');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = writeFile(dir, 'config.yaml', CONFIG);
  const connector = spawnGroup(t, dir, 'layer2/main.js', ['--config', file]);
  await waitFor('connector ready', () => connector.output().includes('connector ready'), 30_000);
  const pid = (await httpGet('http://127.0.51.2:18080/health')).status === 200 ? workerPid(connector.output(), 'c/0') : 0;
  t.ok(pid > 0, 'worker c/0 runs');
  // Started from a shell without it, the worker still has the allocator setting (shared/allocator.ts).
  t.ok(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`GLIBC_TUNABLES=glibc.malloc.trim_threshold=${TRIM_THRESHOLD_BYTES}`), 'the worker runs with the trim threshold set');
  // SIGSTOP freezes its event loop as an endless loop would: no heartbeat answer, no health answer.
  process.kill(pid, 'SIGSTOP');
  await waitFor('the supervisor to kill the stalled worker', () => connector.output().includes('worker event loop stalled'), 60_000);
  await waitFor('a new worker c/0', () => workerPid(connector.output(), 'c/0') !== pid, 60_000);
  await waitFor('the new worker to answer /health', async () => (await httpGet('http://127.0.51.2:18080/health')).status === 200, 30_000);
  process.kill(-connector.pid, 'SIGTERM');
  t.equal(await connector.exit, 0, 'the connector exits 0');
});

/** The pid of the last "worker ready" line a worker logged. */
function workerPid(output: string, id: string): number {
  let pid = 0;
  for (const line of output.split('\n')) {
    if (!line.includes('"worker ready"') || !line.includes(`"worker":"${id}"`)) continue;
    pid = (JSON.parse(line) as { pid: number }).pid;
  }
  return pid;
}
