import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { perCallMicros, readCpu } from './cpu.js';
import { backend, connLoad, tcpLoad, udpLoad, type Target } from './l4-load.js';
import { fmt, labDir, load, rotate, sh, sleep, spawnQuiet, spawnRole, stop, track, waitHttp } from './lab.js';
import { applianceConfig, CONN, KAM, kamailioConfig, sippRun, sippUas, WK, UAS } from './sip-lab.js';

/**
 * Side by side, in one run and interleaved (each rate, each round goes to every candidate in turn, the
 * order rotating, so that background load on a shared machine hits all of them alike):
 *
 *  SIP: sipp `-sn uac` over UDP at rising call rates, every candidate in front of the same sipp UAS:
 *   (a) vcproxy layer 2 alone, (b) layer 1 + layer 2, (c) Kamailio's dispatcher (stateful, 4 children),
 *   and (d) sipp's UAC straight to the UAS: what the load generator and the machine do without a proxy.
 *   A candidate's ladder stops at its first rate with more than 0.1 % failed calls; it prints the
 *   highest rate at ≤ 0.1 % and the ratios to Kamailio. Each run also shows the datagrams the kernel
 *   dropped for full receive buffers in the meantime (all sockets of the namespace together).
 *  L4: layer 1 against HAProxy (TCP, send-proxy-v2, to the same backend) for connections/s and MB/s,
 *   and against an nginx `stream` UDP proxy for datagrams/s; the backend reached directly is the
 *   ceiling of the load generator. HAProxy also runs on one thread (haproxy1): what its second core
 *   gives it, where layer 1 is one process.
 *
 *   node dist/scripts/bench/compare.js [--duration 10] [--rates 500,1000,...] [--workers 2] [--only sip,l4]
 *                                      [--sip a,b,c] [--seconds 4] [--mb 128] [--rounds 2] [--prof dir]
 *
 * --prof writes V8 CPU profiles (Chrome DevTools' format) of every layer-1 and layer-2 process into
 * dir; --sip picks the SIP candidates (profile one path at a time: `--sip b --rates 1500`).
 *
 * Needs sipp, kamailio, haproxy and nginx with its stream module (`./scripts/install --test`) and
 * root (kamailio, haproxy and nginx bind their own addresses; run it in a network namespace).
 */
const here = fileURLToPath(import.meta.url);
const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    duration: { type: 'string', default: '10' },
    rates: { type: 'string', default: '500,1000,1500,2000,2500,3000,3500,4000,4500,5000' },
    workers: { type: 'string', default: '2' },
    only: { type: 'string', default: 'sip,l4' },
    seconds: { type: 'string', default: '4' },
    mb: { type: 'string', default: '128' },
    rounds: { type: 'string', default: '2' },
    sip: { type: 'string', default: 'a,b,c,d' },
    prof: { type: 'string' },
  },
});
const DURATION = Number(values.duration);
const RATES = values.rates!.split(',').map(Number);
const ONLY = new Set(values.only!.split(','));
const SECONDS = Number(values.seconds);
const MB = Number(values.mb);
const ROUNDS = Number(values.rounds);
/** Node flags of the vcproxy processes (layer 2's workers inherit them). */
const NODE_FLAGS = values.prof ? ['--cpu-prof', '--cpu-prof-dir', values.prof] : [];

// The L4 part's addresses: the backend, the client, and one listening address per proxy.
const L4 = { l1: '127.0.9.21', backend: '127.0.9.22', haproxy: '127.0.9.23', nginx: '127.0.9.24', haproxy1: '127.0.9.25', client: '127.0.9.120', port: 15060, health: 18081 };

const ratio = (a: number | undefined, b: number | undefined): string => (a !== undefined && b ? `${(a / b).toFixed(2)}×` : 'n/a');

interface SipCandidate {
  key: string;
  label: string;
  target: string;
}

async function sip(dir: string): Promise<Record<string, number>> {
  const cfg = join(dir, 'bench.yaml');
  writeFileSync(cfg, applianceConfig(Number(values.workers)));
  const kam = sh('command -v kamailio');
  if (!kam) throw new Error('kamailio is not installed: ./scripts/install --test');
  const list = join(dir, 'dispatcher.list');
  writeFileSync(list, `1 sip:${UAS}:5060\n`);
  const kcfg = join(dir, 'kamailio.cfg');
  writeFileSync(kcfg, kamailioConfig(list));
  console.log(`SIP: sipp -sn uac -t u1 over UDP, ${DURATION} s per rate, rates ${RATES.join(', ')}; backend sipp -sf scripts/sipp/uas-answer.xml; criterion ≤ 0.1 % failed calls`);
  console.log(`  (a) vcproxy layer 2 alone (${values.workers} workers): sipp → connector plain port → UAS`);
  console.log('  (b) vcproxy layer 1 + layer 2: sipp → well-known address → layer 1 → connector proxied port → UAS');
  console.log('  (c) Kamailio dispatcher, tm + rr (stateful), 4 children');
  console.log('  (d) no proxy: sipp → UAS (the ceiling of the load generator on this machine)');
  console.log('  CPU per call: of the candidate\'s processes and all their threads (layer 2: supervisor and workers), and of the UAS, over each run');
  const procs: ChildProcess[] = [];
  const best: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
  const cpuAtBest: Record<string, number> = {};
  try {
    const uas = sippUas(dir);
    procs.push(uas);
    const k = spawnQuiet(kam, ['-f', kcfg, '-DD', '-E', '-m', '256', '-M', '32', '-Y', dir, '-P', join(dir, 'k.pid')]);
    procs.push(k);
    const l2 = spawnRole([...NODE_FLAGS, fileURLToPath(new URL('../../layer2/main.js', import.meta.url)), '--config', cfg]);
    procs.push(l2);
    const l1 = spawnRole([...NODE_FLAGS, fileURLToPath(new URL('../../layer1/main.js', import.meta.url)), '--config', cfg]);
    procs.push(l1);
    // The process trees whose CPU each candidate's calls cost (sipp's UAC is the same for all).
    const trees: Record<string, Array<number | undefined>> = { a: [l2.pid], b: [l1.pid, l2.pid], c: [k.pid], d: [] };
    await waitHttp(`http://${CONN}:18080/health`);
    await waitHttp(`http://${WK}:9101/health`);
    await sleep(1000);
    if (k.exitCode !== null) throw new Error(`kamailio exited at start (code ${k.exitCode}); \`kamailio -c -f ${kcfg}\` shows why`);
    let active: SipCandidate[] = [
      { key: 'a', label: 'layer 2 alone', target: `${CONN}:25060` },
      { key: 'b', label: 'layer 1 + layer 2', target: `${WK}:5060` },
      { key: 'c', label: 'Kamailio', target: `${KAM}:5060` },
      { key: 'd', label: 'sipp → UAS', target: `${UAS}:5060` },
    ].filter((c) => values.sip!.split(',').includes(c.key));
    let port = 6000;
    for (let r = 0; r < RATES.length && active.length; r++) {
      const rate = RATES[r]!;
      for (const c of rotate(active, r)) {
        const drops0 = udpRcvbufErrors();
        const l1a = c.key === 'b' ? await layer1Events() : undefined;
        const cpu0 = readCpu();
        const res = await sippRun(c.target, rate, DURATION, port++);
        const cpu1 = readCpu();
        const calls = rate * DURATION;
        const perCall = (roots: Array<number | undefined>): number => perCallMicros(cpu0.seconds(roots), cpu1.seconds(roots), calls);
        const own = perCall(trees[c.key]!);
        const ofL1 = c.key === 'b' ? perCall([l1.pid]) : 0;
        const ofUas = perCall([uas.pid]);
        const pct = (100 * res.failed) / calls;
        const notes: string[] = [];
        notes.push(c.key === 'd' ? `CPU per call: UAS ${fmt(ofUas)} µs` : `CPU per call: ${fmt(own)} µs${c.key === 'b' ? ` (layer 1 ${fmt(ofL1)}, layer 2 ${fmt(own - ofL1)})` : ''}, UAS ${fmt(ofUas)} µs`);
        const drops = udpRcvbufErrors() - drops0;
        if (drops) notes.push(`${drops} datagrams dropped at full receive buffers`);
        if (l1a) {
          const l1b = await layer1Events();
          if (l1b.probeFailures > l1a.probeFailures) notes.push(`${l1b.probeFailures - l1a.probeFailures} failed health probes of members`);
          if (l1b.repicks > l1a.repicks) notes.push(`${l1b.repicks - l1a.repicks} flows moved to another member`);
        }
        console.log(`  (${c.key}) ${c.label.padEnd(18)} ${String(rate).padStart(5)} calls/s → ${res.ok} ok, ${res.failed} failed (${pct.toFixed(2)} %)${notes.length ? `; ${notes.join(', ')}` : ''}`);
        if (pct <= 0.1) {
          best[c.key] = rate;
          cpuAtBest[c.key] = own;
        } else active = active.filter((x) => x !== c);
        // Let retransmissions and the transaction tables of the last run drain before the next.
        await sleep(2000);
      }
    }
    if (active.length) console.log(`  still ≤ 0.1 % at the highest rate tried: ${active.map((c) => `(${c.key})`).join(' ')}`);
  } finally {
    await Promise.all(procs.map((p) => stop(p)));
  }
  console.log('SIP, highest rate with ≤ 0.1 % failed calls:');
  const cpuNote = (key: string): string => (cpuAtBest[key] !== undefined ? `, ${fmt(cpuAtBest[key]!)} µs CPU per call there` : '');
  console.log(`  (a) layer 2 alone      ${String(best.a).padStart(5)} calls/s  ${ratio(best.a, best.c)} Kamailio${cpuNote('a')}`);
  console.log(`  (b) layer 1 + layer 2  ${String(best.b).padStart(5)} calls/s  ${ratio(best.b, best.c)} Kamailio${cpuNote('b')}`);
  console.log(`  (c) Kamailio           ${String(best.c).padStart(5)} calls/s${cpuNote('c')}`);
  console.log(`  (d) sipp → UAS         ${String(best.d).padStart(5)} calls/s (no proxy)`);
  return best;
}

/** Layer 1's failed member probes and moved UDP flows so far (its metrics), to explain failed calls. */
async function layer1Events(): Promise<{ probeFailures: number; repicks: number }> {
  const sum = (text: string, name: string): number =>
    text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  try {
    const text = await (await fetch(`http://${WK}:9100/metrics`)).text();
    return { probeFailures: sum(text, 'vcp_l1_health_probe_failures_total'), repicks: sum(text, 'vcp_l1_udp_repicks_total') };
  } catch {
    return { probeFailures: 0, repicks: 0 };
  }
}

/** UDP datagrams the kernel dropped for a full receive buffer, in this network namespace so far. */
function udpRcvbufErrors(): number {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const head = lines[0]!.split(/\s+/);
    return Number(lines[1]!.split(/\s+/)[head.indexOf('RcvbufErrors')]);
  } catch {
    return 0;
  }
}

/** HAProxy in front of the backend; `threads` fixes its thread count (its default: one per core). */
function haproxyConfig(address: string, threads?: number): string {
  return `global
  maxconn 8000${threads ? `\n  nbthread ${threads}` : ''}
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend sip
  bind ${address}:5060
  default_backend members
backend members
  server m ${L4.backend}:${L4.port} send-proxy-v2
`;
}

function nginxConfig(dir: string): string {
  return `worker_processes auto;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
events { worker_connections 8000; }
stream {
  server { listen ${L4.nginx}:5060 udp reuseport; proxy_pass ${L4.backend}:${L4.port}; proxy_timeout 60s; }
}
`;
}

function layer1Config(): string {
  return `
pop: b
wellKnown: { address: ${L4.l1}, sip: 5060 }
pops: [ { name: b } ]
layer1:
  health: { intervalMs: 250, timeoutMs: 250, fall: 3, rise: 1 }
  metrics: { address: ${L4.l1}, port: 9110 }
  control: { address: ${L4.l1}, port: 9111 }
connectors:
  - { name: m, pop: b, address: ${L4.backend}, workers: 1, ports: { sipProxied: ${L4.port}, sip: 25060, health: ${L4.health} } }
servers:
  - { name: s, pop: b, address: 127.0.9.50 }
limits: { exempt: [${L4.client}/32] }
`;
}

interface L4Candidate {
  key: string;
  target: Target;
}

async function l4(dir: string): Promise<Record<string, number>> {
  for (const tool of ['haproxy', 'nginx']) if (!sh(`command -v ${tool}`)) throw new Error(`${tool} is not installed: ./scripts/install --test`);
  writeFileSync(join(dir, 'l1.yaml'), layer1Config());
  writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(L4.haproxy));
  writeFileSync(join(dir, 'haproxy1.cfg'), haproxyConfig(L4.haproxy1, 1));
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir));
  const haproxyVersion = sh('haproxy -v').split('\n')[0] ?? '';
  const nginxVersion = sh('nginx -v 2>&1');
  console.log(`\nL4: backend ${L4.backend} (echo/sink, takes PROXY v2); ${ROUNDS} rounds, interleaved, best round of each`);
  console.log('  layer 1: one process, PROXY v2 on TCP and UDP');
  console.log(`  HAProxy (${haproxyVersion.replace(/^HAProxy version /, '').split(' ')[0]}): mode tcp, send-proxy-v2, threads = cores (its default)`);
  console.log('  haproxy1: the same HAProxy on one thread, for what a second core gives it');
  console.log(`  nginx (${nginxVersion.replace(/^nginx version: /, '')}): stream UDP proxy, worker_processes auto, reuseport`);
  const procs: ChildProcess[] = [];
  const out: Record<string, number> = {};
  try {
    const member = track(fork(here, ['--role', 'backend'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    procs.push(member);
    await new Promise<void>((r) => member.once('message', () => r()));
    const l1 = spawnRole([fileURLToPath(new URL('../../layer1/main.js', import.meta.url)), '--config', join(dir, 'l1.yaml')]);
    procs.push(l1);
    procs.push(spawnQuiet('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')]));
    procs.push(spawnQuiet('haproxy', ['-db', '-f', join(dir, 'haproxy1.cfg')]));
    procs.push(spawnQuiet('nginx', ['-c', join(dir, 'nginx.conf')]));
    await waitHttp(`http://${L4.l1}:9111/health`);
    await sleep(1000);
    for (const p of procs) if (p.exitCode !== null) throw new Error(`${p.spawnfile} exited at start (code ${p.exitCode})`);
    const direct: Target = { address: L4.backend, port: L4.port };
    const tcp: L4Candidate[] = [
      { key: 'direct', target: direct },
      { key: 'layer1', target: { address: L4.l1, port: 5060 } },
      { key: 'haproxy', target: { address: L4.haproxy, port: 5060 } },
      { key: 'haproxy1', target: { address: L4.haproxy1, port: 5060 } },
    ];
    const udp: L4Candidate[] = [
      { key: 'direct', target: direct },
      { key: 'layer1', target: { address: L4.l1, port: 5060 } },
      { key: 'nginx', target: { address: L4.nginx, port: 5060 } },
    ];
    const keep = (name: string, v: number): void => {
      out[name] = Math.max(out[name] ?? 0, v);
    };
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of rotate(tcp, r)) {
        const res = await connLoad(c.target, SECONDS);
        console.log(`  round ${r + 1} TCP connections/s   ${c.key.padEnd(8)} ${fmt(res.perSecond).padStart(9)}${res.failed ? ` (${res.failed} failed)` : ''}`);
        keep(`conn_${c.key}`, res.failed ? 0 : res.perSecond);
        await sleep(1000);
      }
      for (const c of rotate(tcp, r)) {
        const mbps = await tcpLoad(c.target, L4.client, MB);
        console.log(`  round ${r + 1} TCP MB/s (4 streams) ${c.key.padEnd(8)} ${fmt(mbps).padStart(9)}`);
        keep(`mbps_${c.key}`, mbps);
        await sleep(500);
      }
      for (const c of rotate(udp, r)) {
        const dg = await udpLoad(c.target, L4.client, SECONDS);
        console.log(`  round ${r + 1} UDP datagrams/s      ${c.key.padEnd(8)} ${fmt(dg).padStart(9)}`);
        keep(`udp_${c.key}`, dg);
        await sleep(500);
      }
    }
  } finally {
    await Promise.all(procs.map((p) => stop(p)));
  }
  console.log('L4, best round:');
  console.log(`  TCP connections/s: layer 1 ${fmt(out.conn_layer1!)}, HAProxy ${fmt(out.conn_haproxy!)} (layer 1 = ${ratio(out.conn_layer1, out.conn_haproxy)} HAProxy); direct ${fmt(out.conn_direct!)}`);
  console.log(`  TCP MB/s:          layer 1 ${fmt(out.mbps_layer1!)}, HAProxy ${fmt(out.mbps_haproxy!)} (layer 1 = ${ratio(out.mbps_layer1, out.mbps_haproxy)} HAProxy); direct ${fmt(out.mbps_direct!)}`);
  console.log(`  HAProxy on one thread: ${fmt(out.conn_haproxy1!)} connections/s, ${fmt(out.mbps_haproxy1!)} MB/s (layer 1 = ${ratio(out.conn_layer1, out.conn_haproxy1)}, ${ratio(out.mbps_layer1, out.mbps_haproxy1)})`);
  console.log(`  UDP datagrams/s:   layer 1 ${fmt(out.udp_layer1!)}, nginx ${fmt(out.udp_nginx!)} (layer 1 = ${ratio(out.udp_layer1, out.udp_nginx)} nginx); direct ${fmt(out.udp_direct!)}`);
  for (const k of Object.keys(out)) out[k] = Math.round(out[k]!);
  return out;
}

async function main(): Promise<void> {
  if (values.role === 'backend') {
    await backend(L4.backend, L4.port, L4.health);
    process.send!('ready');
    return;
  }
  if (!sh('command -v sipp')) throw new Error('sipp is not installed: ./scripts/install --test');
  const started = new Date().toISOString();
  console.log(`bench:compare ${started}, ${sh('nproc')} cores, load average ${load()}`);
  const dir = labDir('vcp-bench-compare-');
  const results: Record<string, unknown> = { started };
  try {
    if (ONLY.has('sip')) results.sip = await sip(dir);
    if (ONLY.has('l4')) results.l4 = await l4(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nload average at the end ${load()}`);
  results.load = load();
  console.log(`JSON ${JSON.stringify(results)}`);
}

main().catch((err: unknown) => {
  console.error(`bench:compare: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
