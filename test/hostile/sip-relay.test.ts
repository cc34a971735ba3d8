import t, { type Test } from 'tap';
import { createServer, type Server } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';
import { H } from '../../layer2/sip/headers.js';
import type { SipRequest, SipResponse } from '../../layer2/sip/message.js';
import { answer, request, SipPeer } from '../helpers/sip-peer.js';
import { waitFor } from '../helpers/procs.js';
import { metric, startStack, type Stack } from '../helpers/stack.js';
import { sipPop } from './sip-pop.js';

// Attacks on the SIP side of a running appliance (layer 1 and a connector, real processes from
// dist/), through layer 1 (the well-known address 127.0.125.1) and directly at the connector's plain
// port (127.0.125.2:25060). The deployment's one server is a scripted peer on 127.0.125.10:5060; the
// targets an attacker would like the connector to reach are a UDP socket on 127.0.125.99:5070 and a
// TCP listener on 127.0.125.98:8080 (standing for 169.254.169.254:80). Attackers use 127.0.126.0/24.

const { yaml: YAML, wk: WK, conn: CONN, server: SERVER } = sipPop('127.0.125', '{ backendTimeoutMs: 60000, transactionTimeoutMs: 60000 }');

let stack: Stack;
let server: SipPeer;
/** The server answers every INVITE, except those a test holds. */
let silentFor = (_req: SipRequest): boolean => false;
const victim: { datagrams: number; connections: number } = { datagrams: 0, connections: 0 };
let udpVictim: Socket;
let tcpVictim: Server;

t.before(async () => {
  server = await SipPeer.open(SERVER, 5060);
  server.onRequest = (req, reply) => {
    if (req.method === 'INVITE' && !silentFor(req)) reply(answer(req, 200, 'OK', [`Contact: <sip:mcu@${SERVER}:5060>`]));
    else if (req.method !== 'INVITE' && req.method !== 'ACK') reply(answer(req, 200, 'OK'));
  };
  udpVictim = createSocket('udp4');
  udpVictim.on('message', () => victim.datagrams++);
  await new Promise<void>((r) => udpVictim.bind(5070, '127.0.125.99', () => r()));
  tcpVictim = createServer((s) => {
    victim.connections++;
    s.destroy();
  });
  await new Promise<void>((r) => tcpVictim.listen(8080, '127.0.125.98', () => r()));
  stack = await startStack(YAML);
});
t.teardown(async () => {
  await stack?.stop();
  server?.close();
  udpVictim?.close();
  tcpVictim?.close();
});

const metrics = (): Promise<string> => stack.workerMetrics('c/0');

async function attacker(t: Test, n: number): Promise<SipPeer> {
  const p = await SipPeer.open(`127.0.126.${n}`);
  t.teardown(() => p.close());
  return p;
}

t.test('not a relay: requests to addresses the deployment did not decide are refused once, and nothing reaches them', async (t) => {
  const a = await attacker(t, 1);
  const attacks: Array<[string, string, { address: string; port: number }, string[]]> = [
    ['in-dialog INVITE to a foreign host, through layer 1', 'sip:x@127.0.125.99:5070', WK, []],
    ['in-dialog INVITE to a foreign host, at the plain port', 'sip:x@127.0.125.99:5070', CONN, []],
    ['maddr naming a foreign host', `sip:x@127.0.125.99:5070;maddr=${SERVER}`, CONN, []],
    ['a Route to a metadata service over TCP', `sip:mcu@${SERVER}:5060`, CONN, ['Route: <sip:127.0.125.98:8080;transport=tcp;lr>']],
    ['our Route first, then a foreign one', `sip:mcu@${SERVER}:5060`, WK, [`Route: <sip:${WK.address}:5060;lr>`, 'Route: <sip:127.0.125.99:5070;lr>']],
    ['a forged flow token in our Record-Route', 'sip:x@127.0.125.99:5070', CONN, [`Route: <sip:${CONN.address}:${CONN.port};lr;vcf=u_127.0.125.99_5070~AAAAAAAAAAAAAAAA>`]],
  ];
  const before = metric(await metrics(), 'vcp_sip_not_relayed_total');
  let i = 0;
  for (const [what, uri, to, extra] of attacks) {
    const callId = `relay-${++i}`;
    a.send(request('INVITE', a, to, { callId, uri, toTag: 'x1', extra }), to.port, to.address);
    const res = (await a.wait((m) => m.callId === callId && (m as SipResponse).status >= 200, undefined, what)) as SipResponse;
    t.equal(res.status, 403, `${what}: 403 ${res.reason}`);
  }
  // The first Route to the TCP target, as an initial request.
  a.send(request('OPTIONS', a, CONN, { callId: 'relay-tcp', uri: `sip:mcu@${SERVER}:5060`, extra: ['Route: <sip:127.0.125.98:8080;transport=tcp;lr>'] }), CONN.port, CONN.address);
  t.equal(((await a.wait((m) => m.callId === 'relay-tcp')) as SipResponse).status, 403, 'an initial request routed elsewhere: 403');
  t.equal(metric(await metrics(), 'vcp_sip_not_relayed_total') - before, attacks.length + 1, 'each counted');
  // A request the connector does forward, sent after the attacks on the same socket: once the server has
  // it, everything before it has been handled.
  a.send(request('OPTIONS', a, CONN, { callId: 'relay-marker', uri: `sip:mcu@${SERVER}:5060`, toTag: 'm1' }), CONN.port, CONN.address);
  await server.wait((m) => m.callId === 'relay-marker');
  await a.wait((m) => m.callId === 'relay-marker' && (m as SipResponse).status === 200);
  t.same(victim, { datagrams: 0, connections: 0 }, 'no datagram and no connection reached the targets');
  t.equal(a.received.filter((m) => m.kind === 'response' && m.callId.startsWith('relay-') && m.callId !== 'relay-marker').length, attacks.length + 1, 'one answer per attack datagram: no retransmissions to a forged source');
  // maddr that names the deployment's server does not make a foreign host one; maddr elsewhere is ignored.
  a.send(request('OPTIONS', a, CONN, { callId: 'relay-maddr', uri: `sip:mcu@${SERVER}:5060;maddr=127.0.125.99`, toTag: 'm2' }), CONN.port, CONN.address);
  await server.wait((m) => m.callId === 'relay-maddr');
  t.equal(victim.datagrams, 0, 'maddr is never followed');
});

t.test('a flow token in our own Record-Route leads only to its client, and only for a request from a server', async (t) => {
  const caller = await attacker(t, 2);
  caller.send(request('INVITE', caller, WK, { callId: 'flow-1' }), WK.port, WK.address);
  await caller.wait((m) => m.callId === 'flow-1' && (m as SipResponse).status === 200);
  const fwd = (await server.wait((m) => m.callId === 'flow-1' && m.kind === 'request')) as SipRequest;
  const rr = fwd.headers.filter((h) => h.id === H.RecordRoute).map((h) => h.value);
  t.match(rr[0], /;vcf=u_127\.0\.126\.2_\d+~[A-Za-z0-9_-]{16}>$/, 'the back entry carries the caller\'s flow under a MAC');
  // An attacker replaying that Route towards the caller, from its own address: refused.
  const other = await attacker(t, 3);
  other.send(request('MESSAGE', other, CONN, { callId: 'flow-2', uri: 'sip:x@127.0.126.2', toTag: 't', extra: rr.map((r) => `Route: ${r}`) }), CONN.port, CONN.address);
  t.equal(((await other.wait((m) => m.callId === 'flow-2')) as SipResponse).status, 403);
  // The server using it reaches the caller.
  caller.onRequest = (req, reply) => reply(answer(req, 200, 'OK'));
  server.send(request('BYE', server, CONN, { callId: 'flow-1', uri: 'sip:caller@127.0.126.2', toTag: 'be1', extra: rr.map((r) => `Route: ${r}`), cseq: 2 }), CONN.port, CONN.address);
  await caller.wait((m) => m.callId === 'flow-1' && m.kind === 'request' && (m as SipRequest).method === 'BYE');
  t.pass('the server\'s BYE reached the caller along its flow');
});

t.test('forged responses from a third address are dropped, never relayed and never learned; branches and tags are unpredictable', async (t) => {
  const caller = await attacker(t, 4);
  const forger = await attacker(t, 5);
  let held: SipRequest | undefined;
  silentFor = (req) => {
    if (req.callId !== 'forge-1') return false;
    held = req;
    return true;
  };
  t.teardown(() => (silentFor = () => false));
  caller.send(request('INVITE', caller, WK, { callId: 'forge-1' }), WK.port, WK.address);
  await waitFor('the INVITE at the server', () => held !== undefined);
  // Even knowing the branch (the best an attacker can hope for), a 200 and a 503 from elsewhere count for nothing.
  const dropped = metric(await metrics(), 'vcp_sip_dropped_total', { reason: 'forged_response' });
  forger.send(answer(held!, 503, 'Service Unavailable'), CONN.port, CONN.address);
  forger.send(answer(held!, 200, 'OK', ['Contact: <sip:evil@127.0.126.5:5060>'], 'evil'), CONN.port, CONN.address);
  await waitFor('both counted as forged', async () => metric(await metrics(), 'vcp_sip_dropped_total', { reason: 'forged_response' }) === dropped + 2);
  server.send(answer(held!, 200, 'OK', [`Contact: <sip:mcu@${SERVER}:5060>`]), CONN.port, CONN.address);
  const ok = (await caller.wait((m) => m.callId === 'forge-1' && (m as SipResponse).status === 200)) as SipResponse;
  t.match(ok.headers.find((h) => h.id === H.Contact)?.value, /mcu@127\.0\.125\.10/, 'the caller got the server\'s answer, not the forger\'s');
  t.notOk(caller.received.some((m) => m.callId === 'forge-1' && ((m as SipResponse).status === 503 || /evil/.test(m.raw.toString()))), 'nothing of the forger reached the caller');
  t.equal(metric(await metrics(), 'vcp_sip_backend_failovers_total'), 0, 'the forged 503 moved nothing');

  // What one request reveals says nothing of the next: 200 branches towards the server and 200 To tags.
  const branches: string[] = [];
  const tags: string[] = [];
  // Sent as a UAC would: in batches, and a request whose datagram was lost on a busy machine is sent
  // again (the same message: a retransmission). One branch and one tag per Call-ID are kept.
  const options = new Map<string, string>();
  const refusals = new Map<string, string>();
  for (let i = 0; i < 200; i += 20) {
    const batch = Array.from({ length: 20 }, (_, k) => i + k).map((n) => ({
      n,
      options: request('OPTIONS', caller, CONN, { callId: `b-${n}`, uri: `sip:mcu@${SERVER}:5060`, toTag: 'q' }),
      invite: request('INVITE', caller, CONN, { callId: `tag-${n}`, extra: ['Route: <sip:127.0.125.99:5070;lr>'] }),
    }));
    let sentAt = 0;
    await waitFor(`OPTIONS and refusals ${i}..${i + 19}`, () => {
      for (const m of server.received) if (m.kind === 'request' && m.callId.startsWith('b-') && !options.has(m.callId)) options.set(m.callId, m.vias[0]!.branch);
      for (const m of caller.received) if (m.kind === 'response' && m.callId.startsWith('tag-') && !refusals.has(m.callId)) refusals.set(m.callId, m.to.tag);
      const missing = batch.filter((b) => !options.has(`b-${b.n}`) || !refusals.has(`tag-${b.n}`));
      if (missing.length > 0 && Date.now() - sentAt > 1000) {
        for (const b of missing) {
          if (!options.has(`b-${b.n}`)) caller.send(b.options, CONN.port, CONN.address);
          if (!refusals.has(`tag-${b.n}`)) caller.send(b.invite, CONN.port, CONN.address);
        }
        sentAt = Date.now();
      }
      return missing.length === 0;
    });
  }
  branches.push(...options.values());
  tags.push(...refusals.values());
  t.equal(new Set(branches).size, branches.length, 'every branch differs');
  t.ok(branches.every((b) => /^z9hG4bK[A-Za-z0-9_-]{16}$/.test(b)), '96 random bits after the cookie');
  const common = (x: string, y: string): number => {
    let i = 0;
    while (i < x.length && x[i] === y[i]) i++;
    return i;
  };
  const longest = Math.max(...branches.slice(1).map((b, i) => common(b, branches[i]!)));
  t.ok(longest < 7 + 4, `consecutive branches share nothing beyond the cookie and chance (longest common prefix ${longest})`);
  t.equal(new Set(tags).size, tags.length, 'every To tag differs');
  t.ok(tags.every((x) => /^[0-9a-f]{16}$/.test(x)), '64 random bits each');
});
