import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { parseConfig } from '../../shared/config/load.js';
import { createLogger } from '../../shared/logger.js';
import { FloodGuard } from '../../shared/flood-guard.js';
import { AddressSet } from '../../shared/net/address-set.js';
import { ChunkQueue } from '../../shared/net/chunk-queue.js';
import { decodeProxyV2 } from '../../shared/proxy-v2.js';
import { startWorker } from '../../layer2/worker.js';
import { endpointType } from '../../layer2/h323/builder.js';
import { dialledDigits, transportAddress } from '../../layer2/h323/h225.js';
import { decodeH323 } from '../../layer2/h323/message.js';
import { perDecode } from '../../layer2/h323/per/codec.js';
import { int, seq } from '../../layer2/h323/per/types.js';
import { buildRrq, decodeRas, encodeRas } from '../../layer2/h323/ras.js';
import { TpktFramer } from '../../layer2/h323/tpkt.js';
import type { RasPeer } from '../../layer2/h323/transport.js';
import { SipStreamFramer } from '../../layer2/sip/framer.js';
import { parseSipMessage } from '../../layer2/sip/parser.js';
import { Authority } from '../../layer2/dns/zone.js';
import { Responder } from '../../layer2/dns/responder.js';
import { labDir, spawnRole } from './lab.js';

/**
 * The worst inputs an attacker can send, timed where they are handled:
 *   - the largest datagram of each protocol (SIP, RAS, DNS; H.225 at its largest TPKT) and a
 *     16,000-octet PER integer;
 *   - an RRQ alias bomb: the RAS gatekeeper of a real worker (in this process) given 8,000-alias RRQs
 *     (refused by the datagram and alias caps) and, caps raised, 1,024-alias RRQs twice and from a
 *     second source;
 *   - 64 KB messages in 1-octet and 10-octet TCP segments through the SIP, TPKT and DNS-TCP framers;
 *   - 10,000 spoofed sources: the flood guard and the gatekeeper's per-source tables in process, and a
 *     real layer-1 process taking one datagram from each of 10,000 source addresses (its CPU time per
 *     datagram, and whether a client of an old flow is still served meanwhile).
 * Figures are per operation: the median and the worst of several runs (`--runs`).
 *
 *   node dist/scripts/bench/hostile.js [--runs 5]
 */
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, sources: { type: 'string', default: '10000' } } });
const RUNS = Number(values.runs);
const SOURCES = Number(values.sources);
const log = createLogger('bench');
log.level = 'silent';

const ms = (ns: bigint): number => Number(ns) / 1e6;
const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toFixed(4));
const rows: Array<[string, string]> = [];
function report(what: string, samples: number[], unit = 'ms'): void {
  const s = [...samples].sort((a, b) => a - b);
  rows.push([what, `median ${fmt(s[Math.floor(s.length / 2)]!)} ${unit}, worst ${fmt(s[s.length - 1]!)} ${unit} (${s.length} runs)`]);
}
/** Time `f` RUNS times (after one warm-up run). */
function time(what: string, f: () => void, unit: 'ms' | 'µs' = 'ms', per = 1): void {
  f();
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    f();
    const d = ms(process.hrtime.bigint() - t0) / per;
    out.push(unit === 'µs' ? d * 1000 : d);
  }
  report(what, out, unit);
}
const swallow = (f: () => unknown): void => {
  try {
    f();
  } catch {
    // refused: the refusal is what is timed
  }
};

// ---- the largest datagram of each protocol -----------------------------------------------------

const MAX_UDP = 65_507;
function datagrams(): void {
  const body = 'a'.repeat(MAX_UDP - 400);
  const sip = Buffer.from(['OPTIONS sip:192.0.2.1 SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-big', 'Max-Forwards: 70', 'From: <sip:a@192.0.2.9>;tag=1', 'To: <sip:192.0.2.1>', 'Call-ID: big@bench', 'CSeq: 1 OPTIONS', `Content-Length: ${body.length}`, '', body].join('\r\n'));
  time(`SIP: a ${sip.length}-octet datagram parsed`, () => parseSipMessage(sip, true));
  const headers = Buffer.from(`OPTIONS sip:192.0.2.1 SIP/2.0\r\n${'X-Pad: a\r\n'.repeat(6000)}Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-h\r\n\r\n`);
  time(`SIP: ${headers.length} octets of 6,000 header lines (refused or parsed)`, () => swallow(() => parseSipMessage(headers, true)));
  const rasGarbage = Buffer.alloc(MAX_UDP, 0x5a);
  time(`RAS: a ${MAX_UDP}-octet datagram of garbage decoded (over maxDatagramBytes it is not even decoded)`, () => swallow(() => decodeRas(rasGarbage)));
  const et = endpointType({ t35CountryCode: 181, t35Extension: 0, manufacturerCode: 20560, productId: 'Bench', versionId: '1' });
  const rrq = encodeRas(buildRrq({ requestSeqNum: 1, callSignalAddress: [transportAddress('192.0.2.9', 1720)], rasAddress: [transportAddress('192.0.2.9', 1719)], terminalType: et, vendor: et.vendor!, aliases: Array.from({ length: 12_000 }, (_, i) => dialledDigits(String(100000 + i))), timeToLive: 60 }));
  time(`RAS: a ${rrq.length}-octet RRQ of 12,000 aliases decoded`, () => decodeRas(rrq));
  const h225 = Buffer.alloc(65_531, 0x08);
  time(`H.225: a ${h225.length}-octet message (the largest TPKT) decoded or refused`, () => swallow(() => decodeH323(h225)));
  const type = seq('Holder', { n: int() });
  const bomb = Buffer.concat([Buffer.from([0x80 | (16000 >> 8), 16000 & 0xff]), Buffer.alloc(16000, 0x7f)]);
  time('PER: a 16,000-octet INTEGER refused', () => swallow(() => perDecode(type, bomb)));
  const config = parseConfig(`
pop: t
wellKnown: { address: 192.0.2.1 }
pops: [ { name: t } ]
connectors: [ { name: c, pop: t, address: 192.0.2.2, workers: 1, ports: { sip: 25060, health: 18080 } } ]
servers: [ { name: s, pop: t, address: 192.0.2.30 } ]
dns: { zones: [ { name: vc.test, nameservers: [ns1.vc.test] } ], names: [ { name: ns1.vc.test, answers: [192.0.2.53] } ] }
`, 'bench.yaml');
  const responder = new Responder({ authority: new Authority(config), order: () => undefined as never, udpFactor: 4 });
  const dnsGarbage = Buffer.alloc(MAX_UDP, 0x01);
  time(`DNS: a ${MAX_UDP}-octet datagram answered or dropped`, () => swallow(() => responder.respond(dnsGarbage, '192.0.2.9', 'udp')));
}

// ---- 1-octet TCP segments ----------------------------------------------------------------------

function segments(): void {
  const body = 'a'.repeat(64_000);
  const sip = Buffer.from(`OPTIONS sip:192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK-s\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  const tpktMsg = Buffer.alloc(65_535);
  tpktMsg[0] = 3;
  tpktMsg.writeUInt16BE(65_535, 2);
  const dnsMsg = Buffer.alloc(65_537, 0);
  dnsMsg.writeUInt16BE(65_535, 0);
  const noEnd = Buffer.alloc(65_535, 0x41);
  for (const step of [1, 10]) {
    time(`SIP framer: ${sip.length} octets in ${step}-octet segments`, () => {
      const f = new SipStreamFramer(70_000);
      for (let i = 0; i < sip.length; i += step) {
        f.push(sip.subarray(i, i + step));
        while (f.next());
      }
    });
    time(`SIP framer: 64 KB of header without its end, in ${step}-octet segments (refused at maxMessageBytes)`, () => {
      const f = new SipStreamFramer(65_536);
      swallow(() => {
        for (let i = 0; i < noEnd.length; i += step) {
          f.push(noEnd.subarray(i, i + step));
          f.next();
        }
      });
    });
    time(`TPKT framer: ${tpktMsg.length} octets in ${step}-octet segments`, () => {
      const f = new TpktFramer();
      for (let i = 0; i < tpktMsg.length; i += step) {
        f.push(tpktMsg.subarray(i, i + step));
        while (f.next());
      }
    });
    time(`DNS TCP framing: ${dnsMsg.length} octets in ${step}-octet segments`, () => {
      const q = new ChunkQueue();
      for (let i = 0; i < dnsMsg.length; i += step) {
        q.push(dnsMsg.subarray(i, i + step));
        while (q.length >= 2) {
          const len = (q.byteAt(0) << 8) | q.byteAt(1);
          if (q.length - 2 < len) break;
          q.skip(2);
          q.take(len);
        }
      }
    });
  }
}

// ---- the RRQ alias bomb and 10,000 spoofed sources (a real worker's gatekeeper) ------------------

async function gatekeeper(): Promise<void> {
  const dir = labDir('vcp-bench-hostile-');
  const make = (ras: string): ReturnType<typeof parseConfig> => parseConfig(`
pop: t
wellKnown: { address: 127.0.9.61 }
pops: [ { name: t } ]
connectors: [ { name: c, pop: t, address: 127.0.9.62, workers: 1, ports: { sip: 25060, ras: 21719, health: 18080 } } ]
servers: [ { name: m, pop: t, address: 127.0.9.70, sipPort: 0, h323Port: 1720 } ]
h323: { ras: { ${ras} } }
limits: { flood: { requestsPerSecond: 0 } }
profiles: { path: ${join(dir, 'profiles')} }
`, join(dir, 'bench.yaml'));
  const et = endpointType({ t35CountryCode: 181, t35Extension: 0, manufacturerCode: 20560, productId: 'Bench', versionId: '1' });
  const rrq = (n: number, aliases: number, base = 100000): Buffer =>
    encodeRas(buildRrq({ requestSeqNum: n, callSignalAddress: [transportAddress('192.0.2.9', 1720)], rasAddress: [transportAddress('192.0.2.9', 1719)], terminalType: et, vendor: et.vendor!, aliases: Array.from({ length: aliases }, (_, i) => dialledDigits(String(base + i))), timeToLive: 60 }));
  const peer = (address: string): RasPeer => ({ remoteAddress: address, remotePort: 1719, localAddress: '127.0.9.62', localPort: 21719, proxied: false, reply: () => undefined });
  try {
    // Defaults: the bomb is over maxDatagramBytes; caps raised to their highest: the alias cap refuses it.
    for (const [label, ras] of [['defaults', 'timeToLiveS: 120'], ['maxDatagramBytes 65535', 'timeToLiveS: 120, maxDatagramBytes: 65535']] as const) {
      const w = await startWorker(make(ras), make(ras).connectors[0]!.endpoints[0]!, log);
      const bomb = rrq(1, 8000);
      time(`RRQ alias bomb (8,000 aliases, ${bomb.length} octets), ${label}: refused`, () => w.gatekeeper.onDatagram(bomb, peer('198.51.100.66')));
      await w.close();
    }
    const w = await startWorker(make('timeToLiveS: 120, maxDatagramBytes: 65535, maxAliases: 1024'), make('').connectors[0]!.endpoints[0]!, log);
    const big = rrq(1, 1024);
    time('RRQ of 1,024 aliases (maxAliases 1024): registered again from its source', () => w.gatekeeper.onDatagram(big, peer('198.51.100.66')));
    time('RRQ of 1,024 aliases from a second source: refused, duplicateAlias', () => w.gatekeeper.onDatagram(big, peer('198.51.100.67')));
    // 10,000 spoofed sources, each registering one alias: the per-source tables at their largest.
    const one = Array.from({ length: SOURCES }, (_, i) => rrq(i + 2, 1, 200000 + i));
    const src = Array.from({ length: SOURCES }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < SOURCES; i++) w.gatekeeper.onDatagram(one[i]!, peer(src[i]!));
    rows.push([`${SOURCES.toLocaleString('en')} spoofed sources, one RRQ each: gatekeeper`, `${fmt((ms(process.hrtime.bigint() - t0) * 1000) / SOURCES)} µs per RRQ (${w.gatekeeper.table.size} registered, ${w.gatekeeper.table.sources} sources)`]);
    await w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const guard = new FloodGuard({ requestsPerSecond: 50, windowMs: 250, blockMs: 60_000, exempt: new AddressSet(['192.0.2.0/24']) }, log, new Registry());
  const addrs = Array.from({ length: SOURCES }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  time(`${SOURCES.toLocaleString('en')} spoofed sources: flood guard, per request`, () => {
    const now = Date.now();
    for (const a of addrs) guard.allow(a, 'sip', now);
  }, 'µs', SOURCES);
}

// ---- 10,000 spoofed sources through a real layer 1 ----------------------------------------------

const WK = '127.0.9.81';
const MEMBER = '127.0.9.82';

async function layer1(): Promise<void> {
  const dir = labDir('vcp-bench-hostile-l1-');
  const health = createHttpServer((_q, r) => r.end('ok')).listen(18089, MEMBER);
  const echo = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  let received = 0;
  echo.on('message', (m, r) => {
    received++;
    const d = decodeProxyV2(m);
    if (d.status === 'ok' && d.info.srcAddress === '127.0.9.90') echo.send(m.subarray(d.headerLength), r.port, r.address);
  });
  await new Promise<void>((r) => echo.bind(15069, MEMBER, () => r()));
  writeFileSync(join(dir, 'l1.yaml'), `
pop: t
wellKnown: { address: ${WK}, sip: 5060 }
pops: [ { name: t } ]
layer1:
  health: { intervalMs: 100, timeoutMs: 500, fall: 3, rise: 1 }
  metrics: { address: ${WK}, port: 9119 }
  control: { address: ${WK}, port: 9118 }
  udp: { maxFlows: 50000 }
connectors: [ { name: c, pop: t, address: ${MEMBER}, workers: 1, ports: { sipProxied: 15069, sip: 25069, health: 18089 } } ]
servers: [ { name: s, pop: t, address: 127.0.9.99 } ]
`);
  const l1 = spawnRole([fileURLToPath(new URL('../../layer1/main.js', import.meta.url)), '--config', join(dir, 'l1.yaml')]);
  const cpu = async (): Promise<number> => {
    const text = await (await fetch(`http://${WK}:9119/metrics`)).text();
    return Number(/^vcp_l1_process_cpu_seconds_total\{[^}]*\} (\S+)/m.exec(text)?.[1] ?? NaN);
  };
  try {
    for (let i = 0; ; i++) {
      try {
        if (/vcp_l1_member_up\{[^}]*\} 1/.test(await (await fetch(`http://${WK}:9119/metrics`)).text())) break;
      } catch {
        // not up yet
      }
      if (i > 200) throw new Error('layer 1 did not come up');
      await new Promise((r) => setTimeout(r, 100));
    }
    // A client of an old flow, timed while the spoofed sources arrive.
    const client = createSocket('udp4');
    await new Promise<void>((r) => client.bind(0, '127.0.9.90', () => r()));
    const rtts: number[] = [];
    let pending = 0;
    client.on('message', () => {
      rtts.push(ms(process.hrtime.bigint() - BigInt(pending)));
    });
    const ping = (): void => {
      pending = Number(process.hrtime.bigint());
      client.send('ping', 5060, WK);
    };
    ping();
    await new Promise((r) => setTimeout(r, 200));
    rtts.length = 0;
    const c0 = await cpu();
    const t0 = Date.now();
    const timer = setInterval(ping, 20);
    const payload = Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n');
    for (let base = 0; base < SOURCES; base += 1000) {
      const socks: UdpSocket[] = await Promise.all(Array.from({ length: Math.min(1000, SOURCES - base) }, (_, k) => new Promise<UdpSocket>((r) => {
        const i = base + k;
        const s = createSocket('udp4');
        s.bind(0, `127.1.${(i >> 8) & 255}.${i & 255}`, () => r(s));
      })));
      await Promise.all(socks.map((s) => new Promise<void>((r) => s.send(payload, 5060, WK, () => r()))));
      for (const s of socks) s.close();
    }
    for (let i = 0; i < 200 && received < SOURCES; i++) await new Promise((r) => setTimeout(r, 20));
    clearInterval(timer);
    const seconds = (Date.now() - t0) / 1000;
    const c1 = await cpu();
    const flows = Number(/^vcp_l1_udp_flows_active\{[^}]*\} (\S+)/m.exec(await (await fetch(`http://${WK}:9119/metrics`)).text())?.[1] ?? NaN);
    rows.push([`${SOURCES.toLocaleString('en')} spoofed sources through layer 1 (one datagram each)`, `${fmt(((c1 - c0) * 1e6) / SOURCES)} µs of layer-1 CPU per new source, ${received} relayed in ${seconds.toFixed(1)} s, ${flows} flows open`]);
    const r = [...rtts].sort((a, b) => a - b);
    rows.push(['a client of an old flow meanwhile', r.length ? `round trip median ${fmt(r[Math.floor(r.length / 2)]!)} ms, worst ${fmt(r[r.length - 1]!)} ms (${r.length} pings)` : 'no answer']);
    client.close();
  } finally {
    l1.kill('SIGTERM');
    await new Promise((r) => l1.once('exit', r));
    health.close();
    echo.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  datagrams();
  segments();
  await gatekeeper();
  await layer1();
  const width = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`${rows.map(([a, b]) => `${a.padEnd(width)}  ${b}`).join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:hostile: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
