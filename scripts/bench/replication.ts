import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parseConfig } from '../../shared/config/load.js';
import type { Op } from '../../layer2/profiles/events.js';
import { ProfileStore } from '../../layer2/profiles/store.js';
import { Replicator } from '../../layer2/replication/replicator.js';
import { NatsCluster, localCluster } from '../nats-cluster.js';
import { labDir } from './lab.js';

/**
 * Profile replication between two POP hosts through JetStream (real nats-server processes): host
 * `ca` writes events into its store (with the outbox), its replicator publishes them, host `cb`'s
 * replicator applies them to its own store. Both replicators run in this process.
 *   (a) throughput: `--events` written as fast as the store takes them; events/s from the first
 *       write to the last application at cb;
 *   (b) lag at a steady rate: `--rate` events/s for `--seconds`; p50/p90/p99/max of the time from an
 *       event's creation at ca to its commit at cb.
 *   node dist/scripts/bench/replication.js [--nodes 1|3] [--address 127.0.11.21] [--events 20000] [--rate 1000] [--seconds 5]
 */
const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1' }, address: { type: 'string', default: '127.0.11.21' }, events: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '5' },
  },
});
const NODES = Number(values.nodes);
const EVENTS = Number(values.events);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);

const dir = labDir('vcp-bench-repl-');
const cluster = new NatsCluster(localCluster({ nodes: NODES, address: values.address!, dir: join(dir, 'nats') }));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function main(): Promise<void> {
  await cluster.start();
  const config = parseConfig(`
pop: a
wellKnown: { address: 127.0.11.250 }
pops: [ { name: a }, { name: b } ]
connectors:
  - { name: ca, pop: a, address: 127.0.11.251, workers: 1, ports: { sip: 25060, health: 18080 } }
  - { name: cb, pop: b, address: 127.0.11.252, workers: 1, ports: { sip: 25060, health: 18080 } }
servers: [ { name: a-1, pop: a, address: 127.0.11.253 } ]
replication: { servers: [${cluster.urls().join(', ')}], replicas: ${NODES} }
`, join(dir, 'bench.yaml'));
  const log = pino({ level: 'warn' });
  const a = ProfileStore.open(join(dir, 'a'), { origin: 'ca/0', outbox: true });
  const b = ProfileStore.open(join(dir, 'b'), { origin: 'cb/0', outbox: true });
  let applied = 0;
  let lastAppliedAt = 0;
  let lags: number[] = [];
  const ra = new Replicator({ config: config.replication!, host: 'ca', hosts: ['ca', 'cb'], store: a, log, registry: new Registry() });
  const rb = new Replicator({
    config: config.replication!, host: 'cb', hosts: ['ca', 'cb'], store: b, log, registry: new Registry(),
    onApplied: (ev, at) => {
      applied++;
      lastAppliedAt = at;
      lags.push(at - ev.at);
    },
  });
  ra.start();
  rb.start();
  while (!ra.connected || !rb.connected) await sleep(20);
  const op = (i: number): Op[] => [
    { o: 'cls', key: `sip/vendor${i % 100}`, t: 'proxy', ok: i % 7 !== 0, ms: i % 90, src: 'bench', at: Date.now() },
    { o: 'srv', key: `p4:198.51.${i % 250}.0/24`, server: 'a-1', ok: true, ms: i % 90, at: Date.now() },
  ];
  // warm-up: the stream and both consumers exist, the path is hot
  for (let i = 0; i < 200; i++) await a.record(op(i));
  while (applied < 200) await sleep(20);

  process.stdout.write(`nats-server × ${NODES} (stream replicas ${NODES}), 2 ops per event, both replicators in this process\n`);
  applied = 0;
  lags = [];
  const t0 = Date.now();
  const inflight = new Set<Promise<unknown>>();
  for (let i = 0; i < EVENTS; i++) {
    const p: Promise<unknown> = a.record(op(i)).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 256) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const written = Date.now() - t0;
  while (applied < EVENTS) await sleep(10);
  const total = lastAppliedAt - t0;
  lags.sort((x, y) => x - y);
  process.stdout.write(`(a) throughput: ${EVENTS} events written in ${written} ms (${Math.round(EVENTS / (written / 1000))}/s into the store and outbox), ` +
    `all applied at cb after ${total} ms: ${Math.round(EVENTS / (total / 1000))} events/s replicated (lag under this backlog: p50 ${pct(lags, 50)} ms, p99 ${pct(lags, 99)} ms)\n`);

  applied = 0;
  lags = [];
  const n = RATE * SECONDS;
  const t1 = Date.now();
  for (let i = 0; i < n; i++) {
    const due = t1 + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 1) await sleep(wait);
    void a.record(op(i));
  }
  while (applied < n) await sleep(10);
  lags.sort((x, y) => x - y);
  process.stdout.write(`(b) lag at ${RATE} events/s for ${SECONDS} s (${n} events): p50 ${pct(lags, 50)} ms, p90 ${pct(lags, 90)} ms, p99 ${pct(lags, 99)} ms, max ${lags[lags.length - 1]} ms\n`);
  await ra.stop();
  await rb.stop();
  await a.close();
  await b.close();
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });
