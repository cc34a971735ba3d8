import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parseConfig } from '../../shared/config/load.js';
import { decide } from '../../layer2/decide/decide.js';
import type { NetworkId } from '../../layer2/decide/types.js';
import { Geo } from '../../layer2/geo/geo.js';
import { classChain, type ClientIdentity } from '../../layer2/identify.js';
import { LearningEngine } from '../../layer2/learn/engine.js';
import { LiveView } from '../../layer2/learn/live.js';
import { NetworkIdentifier } from '../../layer2/learn/network.js';
import { MAX_EVENT_OPS, type Op } from '../../layer2/profiles/events.js';
import { ProfileStore } from '../../layer2/profiles/store.js';
import { labDir } from './lab.js';

/**
 * decide() with its profile reads, on a store holding `--profiles` class profiles (and a fifth as many
 * network profiles): latency per decision (p50/p99/p999) of
 *   (a) the profile snapshot read from LMDB + the pure decide(),
 *   (b) the connector's whole decision (network and geo lookup, snapshot, decide, metrics; log to /dev/null),
 * while outcomes keep being written (one event every `--write-every` decisions, as calls end), with the
 * profiles read in a realistic (Zipf) and in a worst-case (uniform) order. After each case, the machine's
 * floor at that case's median (see machineFloor).
 *   node dist/scripts/bench/decide.js [--profiles 100000] [--decisions 200000] [--write-every 1 (0: no writes)] [--dist zipf,uniform]
 */
const { values } = parseArgs({ options: { profiles: { type: 'string', default: '100000' }, decisions: { type: 'string', default: '200000' }, 'write-every': { type: 'string', default: '1' }, dist: { type: 'string', default: 'zipf,uniform' } } });
const PROFILES = Number(values.profiles);
const DECISIONS = Number(values.decisions);
const WRITE_EVERY = Number(values['write-every']);

const dir = labDir('vcp-bench-decide-');
const config = parseConfig(`
pop: ams
wellKnown: { address: 127.0.9.1 }
pops: [ { name: ams, region: eu }, { name: iad, region: us }, { name: sgp, region: apac }, { name: acme, kind: micro, region: eu, reachableFrom: [acme] } ]
connectors: [ { name: c, pop: ams, address: 127.0.9.2, workers: 1, ports: { sip: 25060, health: 18080 } } ]
servers:
  - { name: ams-1, pop: ams, address: 127.0.9.10, capacity: 500, workTypes: { reflector: 1, transcoder: 4 } }
  - { name: ams-2, pop: ams, address: 127.0.9.11, capacity: 500, workTypes: [reflector] }
  - { name: iad-1, pop: iad, address: 127.0.9.12, capacity: 500, workTypes: [reflector, transcoder] }
  - { name: iad-2, pop: iad, address: 127.0.9.13, capacity: 500, workTypes: [reflector] }
  - { name: sgp-1, pop: sgp, address: 127.0.9.14, capacity: 300, workTypes: [reflector] }
  - { name: acme-1, pop: acme, address: 127.0.9.15, capacity: 20, workTypes: [reflector] }
networks: [ { name: acme, prefixes: [198.18.0.0/16], customer: acme } ]
customers: [ { name: acme, microPop: { pop: acme, meetings: ["acme-*"] } } ]
geo: { rules: [ { continent: EU, pop: ams }, { continent: AS, pop: sgp }, { pop: iad } ] }
techniques: { default: proxy, classes: { "sip/vendor7": redirect } }
profiles: { path: ${join(dir, 'profiles')} }
`, join(dir, 'bench.yaml'));

const store = ProfileStore.open(config.profiles.path, { origin: 'bench/0' });
const vendors = 500;
const identity = (i: number): ClientIdentity => ({ protocol: 'sip', vendor: `Vendor${i % vendors}`, product: `Model ${i % 5000}`, version: `${i}.0` });
// What a connector holds once a message is parsed: the identity its User-Agent cache returns, and the
// source address string of the socket. They exist before the decision starts.
const identities: ClientIdentity[] = [];
const addresses: string[] = [];
const networkAddrOf = (i: number): string => `${(i * 7) % 223 + 1}.${(i >> 8) & 255}.${i & 255}.${(i * 13) & 255}`;
for (let i = 0; i < PROFILES; i++) identities.push(identity(i));
for (let i = 0; i < PROFILES / 5; i++) addresses.push(networkAddrOf(i));
const networkAddr = (i: number): string => addresses[i]!;

process.stdout.write(`filling the store with ${PROFILES} class profiles and ${PROFILES / 5} network profiles...\n`);
const t0 = Date.now();
let batch: Op[] = [];
const flush = async (): Promise<void> => {
  if (batch.length) await store.record(batch);
  batch = [];
};
for (let i = 0; i < PROFILES; i++) {
  const chain = classChain(identities[i]!);
  batch.push({ o: 'cls', key: chain[0]!.key, t: 'redirect', ok: i % 3 !== 0, ms: 40, src: `s${i % 7}`, at: 1 });
  if (i % 5 === 0) {
    const ids = new NetworkIdentifier([]).identify(networkAddr(Math.floor(i / 5))).ids;
    batch.push({ o: 'srv', key: ids[0]!.key, server: 'ams-1', ok: true, ms: 30, at: 1 }, { o: 'rtt', key: ids[0]!.key, pop: ['ams', 'iad', 'sgp'][i % 3]!, ms: 20 + (i % 90), at: 1 });
  }
  // One event holds at most MAX_EVENT_OPS ops (more are refused): fill in events of that size.
  if (batch.length >= MAX_EVENT_OPS - 3) await flush();
}
await flush();
process.stdout.write(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${store.count('class')} class keys, ${store.count('net')} network keys\n`);

const live = new LiveView(store, 'bench/0');
live.refresh();
const log = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
const engine = new LearningEngine({ config, store, geo: new Geo(config.geo), live, log, registry: new Registry() });
const nets = new NetworkIdentifier(config.networks);
const geo = new Geo(config.geo);

let sink = 0;

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/**
 * Which profile each decision reads: `uniform` over all of them (every decision a stranger: the worst
 * case), or `zipf` (s = 1, as device models and networks are in real traffic: a few are most calls).
 */
function keys(dist: 'uniform' | 'zipf'): Uint32Array {
  const out = new Uint32Array(DECISIONS);
  if (dist === 'uniform') {
    for (let i = 0; i < DECISIONS; i++) out[i] = (i * 2654435761) % PROFILES;
    return out;
  }
  const cdf = new Float64Array(PROFILES);
  let sum = 0;
  for (let r = 0; r < PROFILES; r++) cdf[r] = sum += 1 / (r + 1);
  let seed = 12345;
  for (let i = 0; i < DECISIONS; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const u = (seed / 2 ** 32) * sum;
    let lo = 0;
    let hi = PROFILES - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = (lo * 7919) % PROFILES; // popular ranks spread over the key space
  }
  return out;
}

const line = (name: string, lat: Float64Array): string =>
  `${name.padEnd(56)} p50 ${percentile(lat, 0.5).toFixed(2).padStart(6)} µs   p99 ${percentile(lat, 0.99).toFixed(2).padStart(6)} µs   p99.9 ${percentile(lat, 0.999).toFixed(2).padStart(7)} µs\n`;

/**
 * What the machine itself gives at the same median: a loop that allocates nothing and reads no memory,
 * sized to take `p50` µs, timed like a decision as often. Whatever stops a process for a while
 * (another process, the hypervisor taking the virtual CPU, an interrupt) lands in its tail as in the
 * decision's, so its p99 is the floor under the decision's p99 on this machine: a p99 near it is the
 * machine's, a p99 well above it is the code's.
 */
function machineFloor(p50: number): Float64Array {
  let acc = 0;
  const spin = (n: number): void => {
    for (let j = 0; j < n; j++) acc = (acc + Math.imul(j, 2654435761)) | 0;
  };
  // Calibrate: iterations per µs, from the median of short trials.
  const trials: number[] = [];
  for (let t = 0; t < 201; t++) {
    const s = process.hrtime.bigint();
    spin(10_000);
    trials.push(10_000 / (Number(process.hrtime.bigint() - s) / 1000));
  }
  trials.sort((a, b) => a - b);
  const n = Math.max(1, Math.round(trials[100]! * p50));
  const lat = new Float64Array(DECISIONS);
  for (let i = 0; i < DECISIONS; i++) {
    const s = process.hrtime.bigint();
    spin(n);
    lat[i] = Number(process.hrtime.bigint() - s) / 1000;
  }
  sink += acc & 1;
  return lat.sort();
}

async function run(name: string, dist: 'uniform' | 'zipf', one: (i: number) => void): Promise<void> {
  const ks = keys(dist);
  for (let i = 0; i < 20_000; i++) one(ks[i]!);
  const lat = new Float64Array(DECISIONS);
  let writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < DECISIONS; i++) {
    const k = ks[i]!;
    const s = process.hrtime.bigint();
    one(k);
    lat[i] = Number(process.hrtime.bigint() - s) / 1000;
    if (WRITE_EVERY > 0 && i % WRITE_EVERY === 0) {
      const chain = classChain(identities[k]!);
      writes.push(store.record([{ o: 'cls', key: chain[0]!.key, t: 'proxy', ok: true, ms: 25, src: 'b', at: Date.now() }]));
    }
    // Let the writes commit now and then, as the event loop of a connector does between messages.
    if (i % 1000 === 999) {
      await Promise.all(writes);
      writes = [];
    }
  }
  await Promise.all(writes);
  lat.sort();
  process.stdout.write(line(`${name}, ${dist}`, lat));
  process.stdout.write(line('    the machine at that p50 (a busy loop)', machineFloor(percentile(lat, 0.5))));
}

process.stdout.write(`${DECISIONS} decisions per case, an outcome written every ${WRITE_EVERY}:\n`);
const topo = engine.topology;
const caseA = (k: number): void => {
  const id = identities[k]!;
  const chain = classChain(id);
  const addr = networkAddr(Math.floor(k / 5));
  const n = nets.identify(addr);
  const networks: NetworkId[] = n.ids;
  const snap = store.snapshot(chain, networks);
  const d = decide(
    { protocol: 'sip', client: id, chain, source: addr, networks, geo: geo.locate(addr, n.bytes!), customer: n.customer, meeting: 'room', workType: 'reflector', exclude: [] },
    snap, topo, live.state(0),
  );
  sink += d.candidates.length;
};
const caseB = (k: number): void => {
  const ctx = engine.decide({ protocol: 'sip', callId: `c${k}`, identity: identities[k]!, source: networkAddr(Math.floor(k / 5)), domain: '', meeting: 'room' });
  sink += ctx.decision.candidates.length;
};
for (const dist of (['zipf', 'uniform'] as const).filter((d) => values.dist!.split(',').includes(d))) {
  await run('(a) profile snapshot + decide()', dist, caseA);
  await run('(b) the whole decision (logged)', dist, caseB);
}
process.stdout.write(`(checksum ${sink})\n`);
await store.close();
rmSync(dir, { recursive: true, force: true });
