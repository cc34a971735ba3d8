import t from 'tap';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { httpGet, runSipp, sippPath, startSippUas, waitFor } from '../helpers/procs.js';
import { metric, startStack } from '../helpers/stack.js';
import { udpSocketDrops } from '../helpers/udp-drops.js';

// Floods. A source over limits.flood is ignored for a while and named once in the log, in a line
// fail2ban matches; others are served as before. Then the target of the hardening: sipp placing 100
// calls a second through layer 1 while other sources send 10,000 requests a second, and not one call
// fails. Addresses: connector 127.0.44.2, backend 127.0.44.10, load tester 127.0.44.100, flooders
// 127.0.45.0/24.
const WK = '127.0.44.1';
const CONN = '127.0.44.2';
const UAS = '127.0.44.10';
const UAC = '127.0.44.100';

/** The filter docs/install.md gives for fail2ban (`failregex`), with <HOST> as fail2ban expands it. */
const FAIL2BAN = /"source":"(?<host>[0-9a-fA-F:.]+)".*"msg":"flood guard: source blocked"/;

async function udpFrom(address: string): Promise<{ s: UdpSocket; got: Buffer[] }> {
  const s = createSocket({ type: 'udp4', sendBufferSize: 1 << 20, recvBufferSize: 4 << 20 });
  const got: Buffer[] = [];
  s.on('message', (b) => got.push(b));
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  t.teardown(() => s.close());
  return { s, got };
}

let seq = 0;
const request = (method: string, from: string, port: number): Buffer => {
  const n = ++seq;
  return Buffer.from([
    `${method} sip:${method === 'OPTIONS' ? '' : 'room@'}${WK} SIP/2.0`, `Via: SIP/2.0/UDP ${from}:${port};branch=z9hG4bK-fl${n}`, 'Max-Forwards: 70',
    `From: <sip:flood@${from}>;tag=${n}`, `To: <sip:room@${WK}>`, `Call-ID: flood-${n}@${from}`, `CSeq: 1 ${method}`, `Contact: <sip:flood@${from}:${port}>`,
    'Content-Length: 0', '', '',
  ].join('\r\n'));
};

t.before(() => {
  sippPath();
});

t.test('a source over the rate is ignored for a while and logged once for fail2ban; the others are served', async (t) => {
  const stack = await startStack(`
pop: t
wellKnown: { address: ${WK}, sip: 5060 }
pops: [ { name: t } ]
connectors:
  - { name: c, pop: t, address: ${CONN}, workers: 1, ports: { sip: 25060, health: 18080 } }
servers:
  - { name: s, pop: t, address: ${UAS}, sipPort: 5060, probe: none }
limits: { exempt: [127.0.44.70/32], flood: { requestsPerSecond: 100, windowMs: 2000, blockMs: 60000 } }
`, { layer1: false });
  t.teardown(() => stack.stop());
  const metrics = (): Promise<string> => stack.workerMetrics('c/0');
  const flooder = await udpFrom('127.0.45.66');
  const port = flooder.s.address().port;
  for (let i = 0; i < 600; i++) flooder.s.send(request('OPTIONS', '127.0.45.66', port), 25060, CONN);
  await waitFor('the rest dropped', async () => metric(await metrics(), 'vcp_flood_dropped_total', { protocol: 'sip' }) === 400, 20_000);
  // The answers may still be on their way when the drops are counted.
  await waitFor('the answers', () => flooder.got.length >= 200, 20_000);
  t.equal(flooder.got.length, 200, 'answered up to 100 a second over the 2-second window, then nothing');
  t.equal(metric(await metrics(), 'vcp_flood_blocks_total'), 1);
  // The worker's log is written asynchronously: the line may reach the pipe after the counters moved.
  const guardLines = (): string[] => stack.connectors.get('c')!.output().split('\n').filter((l) => l.includes('flood guard'));
  await waitFor('the flood guard log line', () => guardLines().length > 0, 20_000);
  const lines = guardLines();
  t.equal(lines.length, 1, 'one log line for the block');
  t.equal(FAIL2BAN.exec(lines[0]!)?.groups?.host, '127.0.45.66', 'the fail2ban filter finds the address');

  const other = await udpFrom('127.0.45.67');
  other.s.send(request('OPTIONS', '127.0.45.67', other.s.address().port), 25060, CONN);
  await waitFor('another source is answered', () => other.got.length === 1, 20_000);
  for (let i = 0; i < 50; i++) flooder.s.send(request('OPTIONS', '127.0.45.66', port), 25060, CONN);
  await waitFor('still ignored', async () => metric(await metrics(), 'vcp_flood_dropped_total', { protocol: 'sip' }) === 450, 20_000);
  t.equal(flooder.got.length, 200, 'still nothing for the flooder');
  t.equal(guardLines().length, 1, 'and no second line while it stays blocked');

  const tester = await udpFrom('127.0.44.70');
  for (let batch = 1; batch <= 6; batch++) {
    for (let i = 0; i < 100; i++) tester.s.send(request('OPTIONS', '127.0.44.70', tester.s.address().port), 25060, CONN);
    await waitFor(`the exempt load tester's answers (${batch * 100})`, () => tester.got.length === batch * 100, 20_000);
  }
  t.equal(metric(await metrics(), 'vcp_flood_blocks_total'), 1, '600 requests in a few hundred milliseconds and the exempt source is not blocked');
});

t.test('sipp at 100 calls/s through layer 1: not one call fails while 10,000 requests/s come from other sources', async (t) => {
  const uas = startSippUas(UAS, 5060, 'u1');
  const stack = await startStack(`
pop: t
wellKnown: { address: ${WK}, sip: 5060 }
pops: [ { name: t } ]
layer1:
  health: { intervalMs: 200, timeoutMs: 1000, fall: 3, rise: 1 }
  metrics: { address: ${WK}, port: 9100 }
  control: { address: ${WK}, port: 9101 }
connectors:
  - { name: c, pop: t, address: ${CONN}, workers: 2, ports: { sipProxied: 15060, sip: 25060, health: 18080 } }
servers:
  - { name: uas, pop: t, address: ${UAS}, sipPort: 5060, sipTransport: udp, probe: none, capacity: 100000 }
# sipp is the load tester: exempt, as docs/install.md says to do for one.
limits: { exempt: [${UAC}/32] }
`);
  t.teardown(async () => {
    await stack.stop();
    await uas.stop();
  });

  // 50 flooding sources, 200 requests a second each: 10,000 a second, paced to the clock, what SIP
  // scanners send (OPTIONS to map, REGISTER and INVITE to enumerate users).
  const SCAN = ['OPTIONS', 'REGISTER', 'INVITE'];
  const flooders = await Promise.all(Array.from({ length: 50 }, (_, i) => udpFrom(`127.0.45.${i + 1}`)));
  const RATE = 10_000;
  let sent = 0;
  let sendErrors = 0;
  const lostBefore = udpSocketDrops(WK, 5060);
  const send = (): void => {
    const f = flooders[sent % flooders.length]!;
    f.s.send(request(SCAN[sent % SCAN.length]!, f.s.address().address, f.s.address().port), 5060, WK, (err) => {
      if (err) sendErrors++;
    });
    sent++;
  };
  // A scanner starts with a burst: 20 requests from each source at once, over its limit in its first
  // window however slowly the paced flood that follows gets going on a loaded machine.
  const BURST = 20;
  for (let i = 0; i < BURST * flooders.length; i++) send();
  const t0 = Date.now();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - t0) * RATE) / 1000) - sent;
    for (let i = 0; i < due; i++) send();
  }, 10);
  t.teardown(() => clearInterval(timer));
  await waitFor('the flood under way', () => sent > RATE);

  const r = await runSipp(['-sn', 'uac', `${WK}:5060`, '-i', UAC, '-p', '5061', '-t', 'u1', '-m', '1000', '-r', '100', '-l', '400', '-default_behaviors', 'all,-abortunexp']);
  clearInterval(timer);
  const seconds = (Date.now() - t0) / 1000;
  t.equal(r.failed, 0, `no failed call (${r.output.slice(-1500)})`);
  t.equal(r.successful, 1000, 'every call completed');
  // The rate this process reached is printed; on a machine starved by other work it may fall short of
  // 10,000/s, and the test still needs a flood far above every source's limit.
  t.ok(sent / seconds >= RATE * 0.5, `the flood ran at ${Math.round(sent / seconds)} requests/s for ${seconds.toFixed(1)} s (${sent} sent, ${sendErrors} send errors)`);
  const l1 = (await httpGet(`http://${WK}:9100/metrics`)).body;
  t.equal(metric(l1, 'vcp_flood_blocks_total'), 50, 'every flooding source was blocked, at layer 1');
  // Every flood datagram is accounted for at layer 1: lost at its socket when the flood outran its
  // reads (the kernel's count: dropped before any process saw it), dropped by its guard, or let through
  // before its source was blocked. The guard counts what layer 1 reads, 13 per source in each window of
  // 250 ms (limits.flood's default): with the burst a source is blocked in its first window, or its
  // second when layer 1 reads slowly at first on a loaded machine (650-1,300 passed). Of what layer 1
  // read, at most 5 % may pass: more would take layer 1 reading under 2,600 datagrams a second, the
  // guard's rate for 50 sources, for seconds. Datagrams still queued when the flood stops are read
  // within moments.
  const account = async (): Promise<{ dropped: number; lost: number; read: number; passed: number }> => {
    const dropped = metric((await httpGet(`http://${WK}:9100/metrics`)).body, 'vcp_flood_dropped_total', { protocol: 'sip/udp' });
    const lost = udpSocketDrops(WK, 5060) - lostBefore;
    const read = sent - sendErrors - lost;
    return { dropped, lost, read, passed: read - dropped };
  };
  const fewEnough = (a: { read: number; passed: number }): boolean => a.passed <= a.read * 0.05;
  await waitFor('every flood datagram dropped at layer 1 but the few before each block', async () => fewEnough(await account()), 20_000).catch(() => undefined);
  const a = await account();
  t.ok(fewEnough(a), `and its datagrams dropped there, before any worker spent time on them: of ${sent} sent, ${a.lost} lost at the full socket, ${a.dropped} dropped by the guard, ${a.passed} passed (at most 5 % of ${a.read})`);
  const banned = (): Set<string> => new Set(stack.layer1!.output().split('\n').filter((l) => FAIL2BAN.test(l)).map((l) => FAIL2BAN.exec(l)!.groups!.host!));
  await waitFor('a fail2ban line for every blocked source', () => banned().size >= 50, 20_000);
  t.equal(banned().size, 50, 'one fail2ban line per flooding source');
});
