import t from 'tap';
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { ProfileStore } from '../../layer2/profiles/store.js';
import { SipUas } from '../../scripts/sim/sip-uas.js';
import { SipPeer } from '../helpers/sip-peer.js';
import { metric, startStack, type Stack } from '../helpers/stack.js';
import { waitFor, within } from '../helpers/procs.js';

// Two POPs on 127.0.10.0/24 (ams: connector a at .1, sgp: connector b at .2); resolvers and callers
// bind in 127.0.13.0/24. Web clients name their address with X-Forwarded-For (the test process is the
// trusted proxy): 198.51.100.0/24 and 203.0.113.0/24 are located in sgp by geo overrides.
const TOKEN = '0123456789abcdef0123';
const A = 'http://127.0.10.1:18380';
const B = 'http://127.0.10.2:18380';
const MANY = Array.from({ length: 40 }, (_, i) => `127.0.10.${100 + i}`);
const YAML = `
pop: ams
wellKnown: { address: 127.0.10.1, sip: 15370 }
pops:
  - { name: ams, region: eu, web: "${A}" }
  - { name: sgp, region: apac, web: "${B}/" }
connectors:
  - { name: a, pop: ams, address: 127.0.10.1, workers: 1, ports: { sip: 25360, health: 18381 } }
  - { name: b, pop: sgp, address: 127.0.10.2, workers: 1, ports: { sip: 25360, health: 18381 } }
servers:
  - { name: ams-1, pop: ams, address: 127.0.10.11, sipPort: 5090, probe: none }
  - { name: ams-2, pop: ams, address: 127.0.10.12, sipPort: 5090, probe: none }
  - { name: sgp-1, pop: sgp, address: 127.0.10.21, sipPort: 5090, probe: none }
geo:
  rules: [ { pop: ams } ]
  overrides:
    - { prefix: 127.0.13.0/25, pop: sgp }
    - { prefix: 127.0.13.128/25, pop: ams }
    - { prefix: 198.51.100.0/24, pop: sgp }
    - { prefix: 203.0.113.0/24, pop: sgp }
profiles: { path: profiles }
admin: { port: 9380, token: "${TOKEN}" }
learning: { redirectDeadlineMs: 1500, arrivalGraceMs: 0 }
web: { port: 18380, trustedProxies: [127.0.0.1/32], linkDeadlineMs: 2500 }
meetings: [ { name: board }, { name: "team-*" } ]
dns:
  port: 15353
  udpFactor: 3
  zones: [ { name: vc.test, nameservers: [ns1.vc.test] } ]
  names:
    - { name: ns1.vc.test, answers: [127.0.10.53] }
    - { name: sip.vc.test, answers: servers, ttl: 20 }
    - { name: many.vc.test, answers: [${MANY.join(', ')}] }
`;

let stack: Stack;
t.before(async () => {
  stack = await startStack(YAML, { layer1: false });
  for (const base of [A, B]) await waitFor(`web listener ${base}`, async () => (await fetch(`${base}/health`)).status === 200);
  await waitFor('admin API', async () => (await fetch('http://127.0.10.1:9380/health')).status === 200);
});
t.teardown(() => stack?.stop());

const run = promisify(execFile);
async function dig(...args: string[]): Promise<string> {
  return (await run('dig', ['-p', '15353', '+time=2', '+tries=1', ...args], { encoding: 'utf8' })).stdout;
}
const short = async (...args: string[]): Promise<string[]> => (await dig('+short', ...args)).trim().split('\n').filter(Boolean);

// An answer is waited for generously; a datagram expected to go unanswered passes a short wait.
async function udpExchange(payload: Buffer, waitMs = within(5000)): Promise<Buffer | undefined> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.13.9', () => r()));
  try {
    return await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      s.once('message', (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      s.send(payload, 15353, '127.0.10.1');
    });
  } finally {
    s.close();
  }
}

const adminGet = async (path: string): Promise<unknown> =>
  (await fetch(`http://127.0.10.1:9380${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
const adminMetrics = async (): Promise<string> => (await fetch('http://127.0.10.1:9380/metrics')).text();
interface Outcome { event: string; technique: string; cls: string; server: string; detail: string }
const outcomes = async (): Promise<Outcome[]> => ((await adminGet('/outcomes?limit=500')) as { outcomes: Outcome[] }).outcomes;

t.test('DNS with dig: the closest POP first, equals rotate, UDP and TCP, REFUSED and NXDOMAIN', async (t) => {
  const fromSgp = await short('@127.0.10.1', '-b', '127.0.13.7', 'sip.vc.test', 'A');
  t.same(fromSgp, ['127.0.10.21', '127.0.10.11', '127.0.10.12'].slice(0, 1).concat(fromSgp.slice(1)), 'sgp-1 first for a resolver located in sgp');
  t.same([...fromSgp].sort(), ['127.0.10.11', '127.0.10.12', '127.0.10.21']);
  const one = await short('@127.0.10.1', '-b', '127.0.13.200', 'sip.vc.test', 'A');
  const two = await short('@127.0.10.1', '-b', '127.0.13.200', 'sip.vc.test', 'A');
  t.ok(['127.0.10.11', '127.0.10.12'].includes(one[0]!), `an ams server first for a resolver in ams (${one.join(' ')})`);
  t.not(one[0], two[0], 'the two ams servers take turns from query to query');
  t.equal(one[2], '127.0.10.21', 'the other POP last');
  const tcp = await short('@127.0.10.1', '-b', '127.0.13.7', '+tcp', 'sip.vc.test', 'A');
  t.equal(tcp[0], '127.0.10.21', 'TCP: the same order');
  const full = await dig('@127.0.10.1', '-b', '127.0.13.7', 'sip.vc.test', 'A');
  t.match(full, /flags: qr aa rd;/);
  t.match(full, /sip\.vc\.test\.\s+20\s+IN\s+A\s+127\.0\.10\.21/);
  t.match(await dig('@127.0.10.1', 'example.com', 'A'), /status: REFUSED/);
  const nx = await dig('@127.0.10.1', 'nope.vc.test', 'A');
  t.match(nx, /status: NXDOMAIN/);
  t.match(nx, /AUTHORITY: 1/);
  t.match(await dig('@127.0.10.1', 'vc.test', 'SOA', '+tcp'), /vc\.test\.\s+3600\s+IN\s+SOA\s+ns1\.vc\.test\. hostmaster\.vc\.test\./);
});

t.test('DNS: latency measured from the resolver\'s network beats its geo', async (t) => {
  const store = ProfileStore.open(join(stack.file, '..', 'profiles'), { origin: 'test/rtt' });
  t.teardown(() => store.close());
  const at = Date.now();
  await store.record([{ o: 'rtt', key: 'p4:127.0.13.0/24', pop: 'ams', ms: 4, at }, { o: 'rtt', key: 'p4:127.0.13.0/24', pop: 'sgp', ms: 180, at }]);
  // the resolver's order is kept for a second, profiles are trusted for a quarter of one
  await waitFor('ams first for a resolver located in sgp', async () => ['127.0.10.11', '127.0.10.12'].includes((await short('@127.0.10.1', '-b', '127.0.13.7', 'sip.vc.test', 'A'))[0]!));
  t.pass('measured RTT 4 ms to ams against 180 ms to sgp: ams first');
});

t.test('DNS: garbage gets FORMERR or is dropped and counted; UDP answers stay within query size × 3', async (t) => {
  const garbage = Buffer.from([0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0xff, 0xfe]);
  const formerr = await udpExchange(garbage);
  t.ok(formerr, 'an answer to a datagram whose header reads');
  const f = dnsPacket.decode(formerr!);
  t.equal(f.id, 0xbeef);
  t.equal((f as unknown as { rcode: string }).rcode, 'FORMERR');
  t.equal(await udpExchange(Buffer.from([1, 2, 3, 4, 5]), 600), undefined, 'five octets: no answer');
  const q = dnsPacket.encode({ type: 'query', id: 77, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'many.vc.test' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, options: [] } as never] });
  const r = await udpExchange(q);
  t.ok(r && r.length <= q.length * 3, `response ${r?.length} octets for a ${q.length}-octet query (bound ${q.length * 3})`);
  t.ok(r && (r.readUInt16BE(2) & 0x0200) !== 0, 'TC set');
  t.match(await dig('@127.0.10.1', '+ignore', '+bufsize=4096', 'many.vc.test', 'A'), /flags: qr aa tc rd;/, 'dig sees the truncation');
  const tcp = await short('@127.0.10.1', '+tcp', 'many.vc.test', 'A');
  t.equal(tcp.length, 40, 'over TCP: all 40 addresses');
  const m = await adminMetrics();
  t.ok(metric(m, 'vcp_dns_dropped_total', { reason: 'short' }) >= 1, 'the short datagram counted');
  t.ok(metric(m, 'vcp_dns_queries_total', { rcode: 'FORMERR' }) >= 1);
  t.ok(metric(m, 'vcp_dns_queries_total', { rcode: 'REFUSED', qtype: 'A', transport: 'udp' }) >= 1);
  t.ok(metric(m, 'vcp_dns_truncated_total') >= 1);
});

const web = (url: string, xff?: string, init: RequestInit = {}): Promise<Response> =>
  fetch(url, { redirect: 'manual', ...init, headers: { ...(xff ? { 'x-forwarded-for': xff } : {}), 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', ...((init.headers as Record<string, string>) ?? {}) } });

/** A token as the links carry it (route/tokens.ts), and the id of its record (what the outcome log names). */
const TOK = '[A-Za-z0-9_-]{40,}';
const idOf = (token: string): string => Buffer.from(token, 'base64url').toString('hex', 2, 10);

const linkOf = (page: string, way: string): { server: string; pop: string; href: string } => {
  const m = new RegExp(`id="join-${way}" data-way="${way}" data-server="([^"]+)" data-pop="([^"]+)" href="([^"]+)"`).exec(page);
  if (!m) throw new Error(`no ${way} link in the page`);
  return { server: m[1]!, pop: m[2]!, href: m[3]!.replace(/&#61;/g, '=').replace(/&amp;/g, '&') };
};

t.test('join page: ways in naming the chosen server; a SIP link used at its server is an arrival, the others unused', async (t) => {
  const res = await web(`${A}/join/board`, '198.51.100.7');
  t.equal(res.status, 200);
  t.equal(res.headers.get('referrer-policy'), 'no-referrer');
  t.equal(res.headers.get('cache-control'), 'no-store');
  const page = await res.text();
  const w = linkOf(page, 'web');
  const s = linkOf(page, 'sip');
  const h = linkOf(page, 'h323');
  for (const l of [w, s, h]) t.same([l.server, l.pop], ['sgp-1', 'sgp'], 'geo of the requester: sgp');
  t.match(w.href, new RegExp(`^http://127\\.0\\.10\\.2:18380/meet/board\\?vcp-token=${TOK}$`));
  t.match(s.href, new RegExp(`^sip:board@127\\.0\\.10\\.2:25360;vcp-token=${TOK}$`), 'a connector of the POP (its arrival point)');
  t.match(h.href, new RegExp(`^h323:board%2B${TOK}@127\\.0\\.10\\.21$`), 'no H.323 connector port configured: the server itself');
  const sipToken = new RegExp(`vcp-token=(${TOK})`).exec(s.href)![1]!;
  const token = idOf(sipToken);

  const backend = new SipUas({ address: '127.0.10.21', port: 5090 });
  await backend.start();
  t.teardown(() => backend.close());
  const phone = await SipPeer.open('127.0.13.50');
  t.teardown(() => phone.close());
  const uri = s.href;
  phone.send(
    `INVITE ${uri} SIP/2.0\nVia: SIP/2.0/UDP 127.0.13.50:${phone.port};branch=z9hG4bKjoin1\nMax-Forwards: 70\nFrom: <sip:room@127.0.13.50>;tag=r1\nTo: <sip:board@vc.test>\nCall-ID: join-1@test\nCSeq: 1 INVITE\nUser-Agent: Polycom/6.2.2 PolycomRealPresenceGroup500\nContact: <sip:room@127.0.13.50:${phone.port}>\nContent-Length: 0\n\n`,
    25360,
    '127.0.10.2',
  );
  const ok = await phone.wait((m) => m.kind === 'response' && m.status === 200, undefined, 'the 200 from sgp-1');
  t.equal(ok.callId, 'join-1@test');
  t.ok(backend.stats.tokens.get(sipToken) ?? 0, 'the call reached sgp-1 with its token');
  await waitFor('the SIP link counted as an arrival of technique uri', async () => (await outcomes()).some((o) => o.event === 'arrival' && o.technique === 'uri' && o.detail.includes(token)));
  const arrival = (await outcomes()).find((o) => o.event === 'arrival' && o.detail.includes(token))!;
  t.match(arrival.cls, /^sip\/polycom/, 'the success counts for the class of the client that used the link');
  await waitFor('the page\'s two other links closed as unused', async () => (await outcomes()).filter((o) => o.event === 'unused').length >= 2);
  const cls = (await adminGet('/profiles/classes/sip%2Fpolycom')) as { t?: Record<string, { s: number }> };
  t.ok((cls.t?.uri?.s ?? 0) >= 1, 'profile sip/polycom: uri counted');
});

t.test('HTTP redirect: 302 to the chosen POP\'s web address; the arrival there closes it; local POP served here', async (t) => {
  const res = await web(`${A}/meet/team-1`, '198.51.100.7');
  t.equal(res.status, 302);
  const loc = res.headers.get('location')!;
  t.match(loc, new RegExp(`^http://127\\.0\\.10\\.2:18380/meet/team-1\\?vcp-token=${TOK}$`), 'trailing slash of pops[].web dropped');
  const token = idOf(new RegExp(`vcp-token=(${TOK})`).exec(loc)![1]!);
  const there = await web(loc, '198.51.100.7');
  t.equal(there.status, 200);
  t.match(await there.text(), /id="joined" data-server="sgp-1" data-pop="sgp"/);
  await waitFor('the redirect closed as arrived', async () => (await outcomes()).some((o) => o.event === 'arrival' && o.technique === 'http' && o.detail.includes(token)));
  const here = await web(`${A}/meet/team-2`, '127.0.13.200');
  t.equal(here.status, 200, 'the chosen POP is this one: served without a redirect');
  t.match(await here.text(), /data-pop="ams"/);
  // A token no POP minted (or one changed to name another server) is ignored: decided normally, nothing written.
  const before = (await outcomes()).length;
  const forged = loc.replace(/vcp-token=([A-Za-z0-9_-]+)/, (_m, tok: string) => `vcp-token=${tok.slice(0, -4)}AAAA`);
  const pinned = await web(forged.replace('team-1', 'team-3'), '198.51.100.7');
  t.equal(pinned.status, 200, 'decided normally: the chosen POP is this one');
  t.match(await pinned.text(), /data-server="sgp-1" data-pop="sgp"/);
  t.equal((await outcomes()).length, before, 'the forged token wrote nothing');
  const atB = await (await fetch('http://127.0.10.2:9380/metrics')).text();
  t.ok(metric(atB, 'vcp_route_tokens_refused_total', { reason: 'bad_mac' }) >= 1, 'counted at POP sgp as refused (bad MAC)');
});

t.test('HTTP redirects never followed: missed, and a class that breaks on them gets the join page', async (t) => {
  const ua = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
  for (const src of ['203.0.113.5', '203.0.113.6']) {
    const r = await web(`${A}/meet/team-4`, src, { headers: { 'user-agent': ua } });
    t.equal(r.status, 302, `${src}: redirected, and the browser never arrives`);
  }
  await waitFor('two missed HTTP redirects', async () => (await outcomes()).filter((o) => o.event === 'missed' && o.technique === 'http').length >= 2);
  const page = await waitFor('the join page instead of a redirect', async () => (await web(`${A}/meet/team-4`, '198.51.100.9', { headers: { 'user-agent': ua } })).status === 200).then(() =>
    web(`${A}/meet/team-4`, '198.51.100.9', { headers: { 'user-agent': ua } }).then((r) => r.text()),
  );
  t.match(page, /Join meeting <span id="meeting">team-4<\/span>/);
  t.same([linkOf(page, 'web').server, linkOf(page, 'sip').server], ['sgp-1', 'sgp-1']);
  const m = await adminMetrics();
  t.ok(metric(m, 'vcp_decision_outcomes_total', { technique: 'http', outcome: 'missed' }) >= 2);
  t.ok(metric(m, 'vcp_web_decisions_total', { technique: 'uri' }) >= 3);
});

t.test('bad requests get a page with their status and code', async (t) => {
  const cases: Array<[string, RequestInit, number, string]> = [
    [`${A}/join/nope`, {}, 404, 'VCP_ERR_WEB_UNKNOWN_MEETING'],
    [`${A}/join/${encodeURIComponent('team-"><script>alert(1)<')}`, {}, 200, ''],
    [`${A}/join/${encodeURIComponent('team-<script>alert(1)</script>')}`, {}, 404, 'VCP_ERR_WEB_UNKNOWN_MEETING'],
    [`${A}/join/%ZZ`, {}, 400, 'VCP_ERR_WEB_BAD_REQUEST'],
    [`${A}/join/a%2Fb`, {}, 404, 'VCP_ERR_WEB_UNKNOWN_MEETING'],
    [`${A}/join/`, {}, 404, 'VCP_ERR_WEB_NOT_FOUND'],
    [`${A}/`, {}, 404, 'VCP_ERR_WEB_NOT_FOUND'],
    [`${A}/join/board`, { method: 'POST', body: 'x' }, 405, 'VCP_ERR_WEB_METHOD'],
    [`${A}/join/${'x'.repeat(3000)}`, {}, 414, 'VCP_ERR_WEB_URI_TOO_LONG'],
  ];
  for (const [url, init, status, code] of cases) {
    const r = await web(url, undefined, init);
    const body = await r.text();
    t.equal(r.status, status, `${init.method ?? 'GET'} ${url.slice(0, 60)}`);
    if (code) t.match(body, code);
    t.notMatch(body, /<script>/, 'nothing from the request is markup');
  }
  const m = await adminMetrics();
  t.ok(metric(m, 'vcp_web_requests_total', { route: 'join', status: '404' }) >= 2);
});
