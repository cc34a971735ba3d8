import { fork, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeProxyV2 } from '../../shared/proxy-v2.js';
import { labDir, spawnRole, track } from './lab.js';

/**
 * Layer 1 alone: UDP datagrams per second through the relay (echoed by a member, with a window of
 * datagrams in flight over several client flows) and TCP MB/s through one relayed connection, with
 * the same load sent straight to the member as the ceiling of the load generator. Layer 1's CPU
 * time (from its metrics) gives the cost per datagram and per MB, which holds on a busy machine.
 *
 *   node dist/scripts/bench/layer1.js [--seconds 5] [--flows 8] [--window 32] [--size 600] [--mb 256] [--prof dir]
 *
 * --prof writes a V8 CPU profile of the layer-1 process into dir (open it in Chrome DevTools).
 */
const here = fileURLToPath(import.meta.url);
const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    seconds: { type: 'string', default: '5' },
    flows: { type: 'string', default: '8' },
    window: { type: 'string', default: '32' },
    size: { type: 'string', default: '600' },
    mb: { type: 'string', default: '256' },
    prof: { type: 'string' },
  },
});

const WK = '127.0.9.21';
const MEMBER = '127.0.9.22';
const CLIENT = '127.0.9.120';
const PORT = 15060;
const HEALTH = 18080;
const METRICS = `http://${WK}:9110/metrics`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The member stand-in (its own process): /health, UDP echo of the payload, TCP sink reporting bytes. */
function member(): void {
  createHttpServer((_req, res) => res.end('ok')).listen(HEALTH, MEMBER);
  const u = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  u.on('message', (msg, r) => {
    const d = decodeProxyV2(msg);
    u.send(d.status === 'ok' ? msg.subarray(d.headerLength) : msg, r.port, r.address);
  });
  u.bind(PORT, MEMBER);
  createServer((s) => {
    let n = 0;
    let head: Buffer | undefined = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      if (head === undefined) return void (n += c.length);
      head = Buffer.concat([head, c]);
      const d = decodeProxyV2(head);
      if (d.status === 'incomplete') return;
      n += head.length - (d.status === 'ok' ? d.headerLength : 0);
      head = undefined;
    });
    s.on('end', () => {
      process.send!({ tcpBytes: n });
      s.end();
    });
  }).listen(PORT, MEMBER, () => process.send!({ ready: true }));
}

async function cpuSeconds(): Promise<number> {
  const text = await (await fetch(METRICS)).text();
  const line = text.split('\n').find((l) => l.startsWith('vcp_l1_process_cpu_seconds_total'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

/** Echo round trips over `flows` client sockets with `window` datagrams in flight each; returns datagrams/s. */
async function udpLoad(target: { address: string; port: number }, seconds: number, flows: number, window: number, size: number): Promise<number> {
  const payload = Buffer.alloc(size, 0x41);
  const socks: UdpSocket[] = [];
  let replies = 0;
  let running = true;
  for (let i = 0; i < flows; i++) {
    const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise<void>((r) => s.bind(0, CLIENT, () => r()));
    s.connect(target.port, target.address);
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.on('message', () => {
      replies++;
      if (running) s.send(payload);
    });
    socks.push(s);
  }
  // Keep the window filled even when datagrams are lost under overload.
  const refill = setInterval(() => {
    for (const s of socks) for (let i = 0; i < window / 4; i++) s.send(payload);
  }, 100);
  for (const s of socks) for (let i = 0; i < window; i++) s.send(payload);
  await sleep(500);
  const start = replies;
  const t0 = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const n = replies - start;
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  running = false;
  clearInterval(refill);
  await sleep(200);
  for (const s of socks) s.close();
  return n / dt;
}

/** One TCP connection writing `mb` MiB as fast as backpressure allows; returns MB/s as the member counted it. */
function tcpLoad(m: ChildProcess, target: { address: string; port: number }, mb: number): Promise<number> {
  const total = mb << 20;
  const chunk = Buffer.alloc(64 << 10, 0x42);
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const onMsg = (msg: { tcpBytes?: number }): void => {
      if (msg.tcpBytes === undefined) return;
      m.off('message', onMsg);
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      if (msg.tcpBytes !== total) reject(new Error(`the member counted ${msg.tcpBytes} bytes, ${total} were sent`));
      resolve(total / (1 << 20) / dt);
    };
    m.on('message', onMsg);
    const s = connect({ host: target.address, port: target.port, localAddress: CLIENT });
    s.on('error', reject);
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        sent += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      s.end();
    };
    s.once('connect', pump);
    s.resume();
  });
}

async function main(): Promise<void> {
  if (values.role === 'member') return member();
  const seconds = Number(values.seconds);
  const flows = Number(values.flows);
  const window = Number(values.window);
  const size = Number(values.size);
  const mb = Number(values.mb);
  const dir = labDir('vcp-bench-l1-');
  const cfg = join(dir, 'l1.yaml');
  writeFileSync(cfg, `
pop: b
wellKnown: { address: ${WK}, sip: 5060 }
pops: [ { name: b } ]
layer1:
  health: { intervalMs: 250, timeoutMs: 250, fall: 3, rise: 1 }
  metrics: { address: ${WK}, port: 9110 }
  control: { address: ${WK}, port: 9111 }
connectors:
  - { name: m, pop: b, address: ${MEMBER}, workers: 1, ports: { sipProxied: ${PORT}, sip: 25060, health: ${HEALTH} } }
servers:
  - { name: s, pop: b, address: 127.0.9.50 }
# The load generator is exempt from the per-source limits and the flood guard, as docs/install.md
# says to do for one: it sends far more than any one caller may.
limits: { exempt: [${CLIENT}/32] }
`);
  const m = track(fork(here, ['--role', 'member'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  await new Promise<void>((r) => m.once('message', () => r()));
  const prof = values.prof ? ['--cpu-prof', '--cpu-prof-dir', values.prof] : [];
  const l1 = spawnRole([...prof, fileURLToPath(new URL('../../layer1/main.js', import.meta.url)), '--config', cfg]);
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await (await fetch(`http://${WK}:9111/health`)).status) === 200) break;
      } catch {
        // starting
      }
      if (i > 100) throw new Error('layer 1 did not come up');
      await sleep(100);
    }
    console.log(`layer 1 micro benchmark: ${size}-byte datagrams over ${flows} flows × ${window} in flight, ${seconds} s; TCP ${mb} MiB on one connection`);
    const direct = await udpLoad({ address: MEMBER, port: PORT }, seconds, flows, window, size);
    console.log(`  UDP straight to the member (generator ceiling): ${Math.round(direct)} round trips/s`);
    const c0 = await cpuSeconds();
    const relayed = await udpLoad({ address: WK, port: 5060 }, seconds, flows, window, size);
    const c1 = await cpuSeconds();
    if (!(relayed > 0)) throw new Error('no datagram came back through layer 1');
    const dgrams = relayed * 2 * (seconds + 0.7);
    console.log(`  UDP through layer 1: ${Math.round(relayed)} round trips/s = ${Math.round(relayed * 2)} datagrams/s relayed; layer 1 CPU ${(c1 - c0).toFixed(2)} s → ${((1e6 * (c1 - c0)) / dgrams).toFixed(1)} µs per datagram`);
    const tcpDirect = await tcpLoad(m, { address: MEMBER, port: PORT }, mb);
    console.log(`  TCP straight to the member: ${tcpDirect.toFixed(0)} MB/s`);
    const c2 = await cpuSeconds();
    const tcp = await tcpLoad(m, { address: WK, port: 5060 }, mb);
    const c3 = await cpuSeconds();
    console.log(`  TCP through layer 1: ${tcp.toFixed(0)} MB/s; layer 1 CPU ${(c3 - c2).toFixed(2)} s → ${((1000 * (c3 - c2)) / mb).toFixed(2)} ms per MiB`);
    console.log(`JSON ${JSON.stringify({ udpDirect: Math.round(direct), udpRoundTrips: Math.round(relayed), udpDatagrams: Math.round(relayed * 2), tcpDirectMBps: Math.round(tcpDirect), tcpMBps: Math.round(tcp) })}`);
  } finally {
    const gone = new Promise((r) => l1.once('exit', r));
    l1.kill('SIGTERM');
    m.kill('SIGTERM');
    await gone;
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
