import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { perCallMicros, readCpu } from './cpu.js';
import { httpOk, labDir, sleep, spawnRole, stop, track } from './lab.js';
import type { LoadReport } from '../sim/h323-endpoint.js';

/**
 * H.323 calls per second through the appliance: the room-system simulator (load mode, its own
 * process) places calls at rising rates to (a) one connector worker's plain H.225 port and (b) the
 * well-known address through layer 1 and the connector's workers, in front of the MCU simulator
 * (its own process). Each call is Setup → Call Proceeding, Alerting, Connect → Release Complete,
 * on a fresh TCP connection per call and a fresh one from the connector to the MCU. Prints, per
 * rate, the calls that succeeded and failed and the setup latency, then the highest rate with no
 * failed call that kept up with the offered rate.
 *
 *   node dist/scripts/bench/h323-calls.js [--duration 10] [--rates 500,1000,1500] [--workers 2] [--only a,b] [--prof dir]
 *
 * --prof writes V8 CPU profiles (Chrome DevTools' format) of layer 1, the connector's supervisor and
 * its workers into dir, which the workers' service user must be able to write (mode 1777).
 */
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rates: { type: 'string', default: '500,1000,1250,1500' },
    workers: { type: 'string', default: '2' },
    only: { type: 'string', default: 'a,b' },
    prof: { type: 'string' },
  },
});
const DURATION = Number(values.duration);
const RATES = values.rates!.split(',').map(Number);
const ONLY = new Set(values.only!.split(','));
const WORKERS = Number(values.workers);
/** Node flags of the vcproxy processes (layer 2's workers inherit them). */
const NODE_FLAGS = values.prof ? ['--cpu-prof', '--cpu-prof-dir', values.prof] : [];

// 127.0.6.0/24 is the H.323 block; the codec benchmark's MCU uses 127.0.6.1.
const WK = '127.0.6.240';
const CONN = '127.0.6.241';
const MCU = '127.0.6.242';

function spawnNode(script: string, args: string[], capture = false): ChildProcess {
  return track(spawn(process.execPath, [here(script), ...args], { stdio: ['ignore', capture ? 'pipe' : 'ignore', 'ignore'], env: { ...process.env, VCP_LOG_LEVEL: 'error' } }));
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function metrics(url: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', () => resolve(''));
    req.end();
  });
}

/** One load run of the room-system simulator; its report (one JSON line) or undefined. */
function load(target: string, rate: number, seconds = DURATION): Promise<LoadReport | undefined> {
  const total = rate * seconds;
  const c = spawnNode('../sim/h323-endpoint.js', [target, '--to', 'room', '--dial', '8001', '-r', String(rate), '-m', String(total), '-l', String(rate * 3), '--timeout', '8000', '--json'], true);
  let out = '';
  c.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve) => {
    c.on('exit', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadReport);
      } catch {
        resolve(undefined);
      }
    });
  });
}

/** The processes whose CPU each call costs, besides the simulator (which reports its own). */
const cpuOf: Record<string, () => Array<number | undefined>> = {};

async function ladder(name: string, target: string): Promise<number> {
  // A short run first, so that JIT warm-up and the first profile writes are not in the figures.
  await load(target, 200, 2);
  await sleep(1000);
  let best = 0;
  for (const rate of RATES) {
    const cpu0 = readCpu();
    const r = await load(target, rate);
    if (!r) {
      console.log(`  ${name}: ${rate} calls/s offered → the simulator gave no report`);
      break;
    }
    const s = r.setupMs;
    const others = Object.entries(r.outcomes).filter(([k]) => k !== 'connected').map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(
      `  ${name}: ${String(rate).padStart(5)} calls/s offered → ${r.succeeded} ok, ${r.failed} failed${others ? ` (${others})` : ''}, ${r.callsPerSecond} calls/s; ` +
        `setup ms p50 ${s.p50} p95 ${s.p95} p99 ${s.p99} max ${s.max}`,
    );
    // Where the two cores went: CPU per call of each process (tree), the load generator's included.
    const cpu1 = readCpu();
    const calls = r.succeeded + r.failed;
    const parts = Object.entries(cpuOf).map(([k, pids]) => `${k} ${Math.round(perCallMicros(cpu0.seconds(pids()), cpu1.seconds(pids()), calls))}`);
    parts.push(`simulator ${Math.round(perCallMicros(0, r.cpuMs / 1000, calls))}`);
    console.log(`     CPU per call, µs: ${parts.join(', ')}`);
    // A rate counts when every call connected and the calls kept up with it.
    if (r.failed === 0 && r.succeeded === rate * DURATION && r.callsPerSecond >= 0.95 * rate) best = rate;
    else break;
    await sleep(2000);
  }
  return best;
}

function config(workers: number, profiles: string): string {
  return `
pop: bench
wellKnown: { address: ${WK}, sip: 5060, h323: 1720, ras: 1719 }
pops: [ { name: bench } ]
layer1:
  health: { intervalMs: 200, timeoutMs: 200, fall: 2, rise: 1 }
  metrics: { address: ${WK}, port: 9100 }
  control: { address: ${WK}, port: 9101 }
connectors:
  - { name: bench, pop: bench, address: ${CONN}, workers: ${workers}, ports: { sipProxied: 15060, sip: 25060, h323Proxied: 11720, h323: 21720, health: 18080 } }
servers:
  - { name: mcu, pop: bench, address: ${MCU}, sipPort: 0, h323Port: 1720, capacity: 1000000, probe: none }
profiles: { path: ${profiles} }
admin: { port: 0 }
# The room-system simulator is the load tester: past the flood guard and per-source limits.
limits: { exempt: [127.0.0.0/8] }
`;
}

async function main(): Promise<void> {
  const dir = labDir('vcp-bench-h323-');
  const file = join(dir, 'config.yaml');
  writeFileSync(file, config(WORKERS, join(dir, 'profiles')));
  const mcu = spawnNode('../sim/h323-mcu.js', ['--address', MCU, '--port', '1720']);
  let connector: ChildProcess | undefined;
  let layer1: ChildProcess | undefined;
  const cleanup = async (): Promise<void> => {
    await Promise.all([stop(layer1), stop(connector), stop(mcu)]);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    console.log(`H.323 calls per second (Node ${process.version}, ${DURATION} s per rate, ${WORKERS} connector worker(s), room-system and MCU simulators in their own processes)`);
    connector = spawnRole([...NODE_FLAGS, here('../../layer2/main.js'), '--config', file]);
    cpuOf['layer 2'] = () => [connector?.pid];
    cpuOf.MCU = () => [mcu.pid];
    for (let w = 0; w < WORKERS; w++) await waitFor(`worker ${w}`, () => httpOk(`http://${CONN}:${18080 + w}/health`));
    const results: string[] = [];
    if (ONLY.has('a')) {
      console.log(`(a) layer 2 alone: simulator → worker 0's plain port ${CONN}:21720 → MCU`);
      results.push(`(a) layer 2, one worker: ${await ladder('a', `${CONN}:21720`)} calls/s`);
    }
    if (ONLY.has('b')) {
      layer1 = spawnRole([...NODE_FLAGS, here('../../layer1/main.js'), '--config', file]);
      cpuOf['layer 1'] = () => [layer1?.pid];
      await waitFor('layer 1 members up', async () => {
        const text = await metrics(`http://${WK}:9100/metrics`);
        return Array.from({ length: WORKERS }, (_, w) => w).every((w) => new RegExp(`vcp_l1_member_up\\{[^}]*member="bench/${w}"[^}]*\\} 1`).test(text));
      });
      console.log(`(b) layer 1 + layer 2: simulator → ${WK}:1720 (layer 1) → ${WORKERS} workers → MCU`);
      results.push(`(b) layer 1 + layer 2, ${WORKERS} workers: ${await ladder('b', `${WK}:1720`)} calls/s`);
    }
    console.log('\nhighest rate with every call connected:');
    for (const r of results) console.log(`  ${r}`);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
