import t, { type Test } from 'tap';
import { connect } from 'node:net';
import { parseConfig } from '../../shared/config/load.js';
import { createLogger } from '../../shared/logger.js';
import { startWorker, type WorkerHandle } from '../../layer2/worker.js';
import { SipUas } from '../../scripts/sim/sip-uas.js';
import type { SipRequest, SipResponse } from '../../layer2/sip/message.js';
import { H } from '../../layer2/sip/headers.js';
import { metric } from '../helpers/stack.js';
import { answer, isRequest, isStatus, request, SipPeer } from '../helpers/sip-peer.js';

// In-process worker on 127.0.3.2 with scripted peers: the proxy's behaviour one transaction at a time.
const CONN = { address: '127.0.3.2', port: 25060 };
const log = createLogger('test');
log.level = 'silent';

async function worker(t: Test, servers: string, extra = ''): Promise<WorkerHandle> {
  const dir = t.testdir();
  const config = parseConfig(`
pop: t
wellKnown: { address: 127.0.3.1, sip: 5060 }
pops: [ { name: t } ]
connectors:
  - { name: c, pop: t, address: ${CONN.address}, workers: 1, ports: { sip: ${CONN.port}, health: 18080 } }
servers:
${servers}
sip: { backendTimeoutMs: 300, t1Ms: 100, headerTimeoutMs: 300 }
profiles: { path: profiles }
${extra}
`, `${dir}/proxy-test.yaml`);
  const w = await startWorker(config, config.connectors[0]!.endpoints[0]!, log);
  t.teardown(() => w.close());
  return w;
}

async function peer(t: Test, address: string, port = 0): Promise<SipPeer> {
  const p = await SipPeer.open(address, port);
  t.teardown(() => p.close());
  return p;
}

async function uas(t: Test, address: string): Promise<SipUas> {
  const u = new SipUas({ address, port: 5060 });
  await u.start();
  t.teardown(() => u.close());
  return u;
}

const metrics = async (): Promise<string> => (await fetch('http://127.0.3.2:18080/metrics')).text();

t.test('INVITE is proxied with Via, Record-Route and Max-Forwards; retransmissions are absorbed', async (t) => {
  const backend = await peer(t, '127.0.3.10', 5060);
  backend.onRequest = (req, reply) => {
    if (req.method === 'INVITE') reply(answer(req, 200, 'OK', ['Contact: <sip:mcu@127.0.3.10:5060>']));
  };
  await worker(t, '  - { name: b, pop: t, address: 127.0.3.10, sipPort: 5060 }');
  const caller = await peer(t, '127.0.3.100');
  const invite = request('INVITE', caller, CONN, { maxForwards: 10 });
  caller.send(invite, CONN.port, CONN.address);
  caller.send(invite, CONN.port, CONN.address);
  const ok = (await caller.wait(isStatus(200, 'INVITE'))) as SipResponse;
  t.equal(ok.vias.length, 1, 'our Via is gone from the response');
  const fwd = (await backend.wait(isRequest('INVITE'))) as SipRequest;
  t.equal(fwd.maxForwards, 9);
  t.equal(fwd.vias.length, 2);
  t.equal(fwd.vias[0]!.host, CONN.address);
  t.match(fwd.uri, /^sip:room@127\.0\.3\.10:5060/);
  const rr = fwd.headers.filter((h) => h.id === H.RecordRoute).map((h) => h.value);
  t.equal(rr.length, 2, 'double Record-Route');
  t.match(rr[0], /^<sip:127\.0\.3\.2:25060;transport=udp;lr;vcf=u_127\.0\.3\.100_\d+~[A-Za-z0-9_-]{16}>$/, 'the back entry carries the client flow with its MAC');
  t.match(rr[1], /^<sip:127\.0\.3\.2:25060;transport=udp;lr>$/);
  await new Promise((r) => setTimeout(r, 100));
  // One transaction towards the backend (our own UDP retransmissions of it share its branch).
  t.equal(new Set(backend.received.filter(isRequest('INVITE')).map((m) => m.vias[0]!.branch)).size, 1, 'the retransmitted INVITE was absorbed');
  t.ok(caller.received.filter(isStatus(100)).length <= 1, 'at most one 100 Trying (for the retransmission, when it came before the answer)');

  // In-dialog BYE from the caller along the route set, and one from the backend towards the caller.
  const routes = [...rr].reverse().map((r) => `Route: ${r}`);
  caller.send(request('BYE', caller, CONN, { callId: fwd.callId, toTag: 'be1', uri: 'sip:mcu@127.0.3.10:5060', extra: routes, cseq: 2 }), CONN.port, CONN.address);
  const bye = (await backend.wait(isRequest('BYE'))) as SipRequest;
  t.equal(bye.uri, 'sip:mcu@127.0.3.10:5060');
  t.equal(bye.headers.filter((h) => h.id === H.Route).length, 0, 'both of our Route entries were removed');
  caller.onRequest = (req, reply) => reply(answer(req, 200, 'OK'));
  const back = request('BYE', backend, CONN, { callId: 'back-bye', uri: `sip:caller@127.0.3.100:${caller.port}`, extra: rr.map((r) => `Route: ${r}`), toTag: 'x' });
  backend.send(back, CONN.port, CONN.address);
  const toCaller = (await caller.wait((m) => m.kind === 'request' && m.callId === 'back-bye')) as SipRequest;
  t.equal(toCaller.vias[0]!.host, CONN.address, 'a backend request reaches the caller over its flow');
  await backend.wait((m) => m.kind === 'response' && m.callId === 'back-bye' && (m as SipResponse).status === 200);
});

t.test('the ACK of a 2xx, forwarded without state: every copy carries one branch, distinct per ACK', async (t) => {
  // A UAC sends its ACK again for each 2xx retransmission. The server must see the copies as one
  // request (RFC 3261 section 16.11), else it takes the second copy for a new, unexpected request.
  const backend = await peer(t, '127.0.3.12', 5060);
  backend.onRequest = (req, reply) => {
    if (req.method === 'INVITE') reply(answer(req, 200, 'OK', ['Contact: <sip:mcu@127.0.3.12:5060>']));
  };
  await worker(t, '  - { name: b, pop: t, address: 127.0.3.12, sipPort: 5060 }');
  const caller = await peer(t, '127.0.3.102');
  caller.send(request('INVITE', caller, CONN), CONN.port, CONN.address);
  await caller.wait(isStatus(200, 'INVITE'));
  const fwd = (await backend.wait(isRequest('INVITE'))) as SipRequest;
  const routes = fwd.headers.filter((h) => h.id === H.RecordRoute).map((h) => `Route: ${h.value}`).reverse();
  const ack = request('ACK', caller, CONN, { callId: fwd.callId, toTag: 'b2', uri: 'sip:mcu@127.0.3.12:5060', extra: routes, cseq: 1 });
  caller.send(ack, CONN.port, CONN.address);
  caller.send(ack, CONN.port, CONN.address);
  await backend.wait(() => backend.received.filter(isRequest('ACK')).length >= 2, undefined, 'two ACKs');
  const acks = backend.received.filter(isRequest('ACK')) as SipRequest[];
  t.equal(acks.length, 2, 'both copies forwarded');
  t.equal(acks[0]!.vias[0]!.branch, acks[1]!.vias[0]!.branch, 'one branch for both copies');
  t.match(acks[0]!.vias[0]!.branch, /^z9hG4bK[A-Za-z0-9_-]{16}$/, 'an RFC 3261 branch');
  t.not(acks[0]!.vias[0]!.branch, fwd.vias[0]!.branch, 'not the INVITE\'s branch');
  const other = request('ACK', caller, CONN, { callId: fwd.callId, toTag: 'b2', uri: 'sip:mcu@127.0.3.12:5060', extra: routes, cseq: 1 });
  caller.send(other, CONN.port, CONN.address);
  await backend.wait(() => backend.received.filter(isRequest('ACK')).length >= 3, undefined, 'a third ACK');
  const third = backend.received.filter(isRequest('ACK'))[2] as SipRequest;
  t.not(third.vias[0]!.branch, acks[0]!.vias[0]!.branch, 'another ACK (another branch from the caller) gets another branch');
});

t.test('a retransmission that comes another way (the layer-1 member that relayed the request died) is answered that way', async (t) => {
  const backend = await peer(t, '127.0.3.10', 5060);
  let answerInvite: (() => void) | undefined;
  backend.onRequest = (req, reply) => {
    if (req.method === 'INVITE') answerInvite = () => reply(answer(req, 200, 'OK', ['Contact: <sip:mcu@127.0.3.10:5060>']));
  };
  await worker(t, '  - { name: b, pop: t, address: 127.0.3.10, sipPort: 5060 }');
  const first = await peer(t, '127.0.3.100');
  const second = await peer(t, '127.0.3.101');
  // The same request (same Via, same branch) first through one way, then retransmitted through another.
  const invite = request('INVITE', first, CONN);
  first.send(invite, CONN.port, CONN.address);
  await first.wait(isStatus(100));
  await backend.wait(isRequest('INVITE'));
  second.send(invite, CONN.port, CONN.address);
  await second.wait(isStatus(100));
  t.pass('the retransmission is answered (100 Trying) the way it came');
  answerInvite!();
  await second.wait(isStatus(200, 'INVITE'));
  t.pass('and so is the final response');
  t.notOk(first.received.some(isStatus(200)), 'nothing more goes the old way');
});

t.test('100 Trying only when the answer is late; an answer lost the old way goes with the retransmission that comes another way', async (t) => {
  const backend = await peer(t, '127.0.3.11', 5060);
  backend.onRequest = (req, reply) => {
    if (req.method === 'INVITE' && req.callId !== 'held') reply(answer(req, 200, 'OK', ['Contact: <sip:mcu@127.0.3.11:5060>']));
  };
  await worker(t, '  - { name: b, pop: t, address: 127.0.3.11, sipPort: 5060 }');
  const caller = await peer(t, '127.0.3.103');
  caller.send(request('INVITE', caller, CONN, { callId: 'prompt' }), CONN.port, CONN.address);
  await caller.wait(isStatus(200, 'INVITE'));
  t.notOk(caller.received.some(isStatus(100)), 'a server that answers at once answers alone');

  caller.send(request('INVITE', caller, CONN, { callId: 'held' }), CONN.port, CONN.address);
  await caller.wait((m) => m.callId === 'held' && (m as SipResponse).status === 100, undefined, '100 Trying for the held INVITE');
  t.pass('an INVITE the server keeps waiting gets its 100 Trying (T1/2 here: 50 ms)');

  // The layer-1 member that relayed the INVITE died with the 200 in it: the client, with no
  // provisional, sends the INVITE again through the member's peer, and gets the 200 that way.
  const dead = await peer(t, '127.0.3.104');
  const peerOfDead = await peer(t, '127.0.3.105');
  const invite = request('INVITE', dead, CONN, { callId: 'lost-answer' });
  dead.send(invite, CONN.port, CONN.address);
  await dead.wait(isStatus(200, 'INVITE'));
  t.notOk(dead.received.some(isStatus(100)), 'no 100 went the old way before the answer');
  peerOfDead.send(invite, CONN.port, CONN.address);
  await peerOfDead.wait(isStatus(200, 'INVITE'), undefined, 'the 200 through the other way');
  t.pass('the retransmission through the other way takes the answer with it');
});

t.test('a BYE along the dialog waits for a slow backend: its 200 arrives after backendTimeoutMs, never a 408 (RFC 4320)', async (t) => {
  const slow = await peer(t, '127.0.3.20', 5060);
  slow.onRequest = (req, reply) => {
    if (req.method === 'INVITE') reply(answer(req, 200, 'OK', ['Contact: <sip:mcu@127.0.3.20:5060>']));
    // The backend takes longer than backendTimeoutMs (300 ms here) to answer the BYE.
    if (req.method === 'BYE') setTimeout(() => reply(answer(req, 200, 'OK')), 900);
  };
  await worker(t, '  - { name: s, pop: t, address: 127.0.3.20, sipPort: 5060 }');
  const caller = await peer(t, '127.0.3.107');
  caller.send(request('INVITE', caller, CONN, { callId: 'slow-bye' }), CONN.port, CONN.address);
  await caller.wait(isStatus(200, 'INVITE'));
  const fwd = (await slow.wait(isRequest('INVITE'))) as SipRequest;
  const routes = fwd.headers.filter((h) => h.id === H.RecordRoute).map((h) => `Route: ${h.value}`).reverse();
  caller.send(request('BYE', caller, CONN, { callId: 'slow-bye', toTag: 'sb1', uri: 'sip:mcu@127.0.3.20:5060', extra: routes, cseq: 2 }), CONN.port, CONN.address);
  await caller.wait(isStatus(200, 'BYE'), undefined, '200 for the BYE');
  t.notOk(caller.received.some(isStatus(408)), 'no 408 was sent for the BYE');
});

t.test('failover: a silent backend, a 503 and a refused TCP connection move the call to the next', async (t) => {
  const busy = await peer(t, '127.0.3.11', 5060);
  busy.onRequest = (req, reply) => {
    if (req.method === 'INVITE') reply(answer(req, 503, 'Service Unavailable'));
  };
  const live = await uas(t, '127.0.3.13');
  await worker(t, [
    '  - { name: a-silent, pop: t, address: 127.0.3.12, sipPort: 5060 }',
    '  - { name: b-busy, pop: t, address: 127.0.3.11, sipPort: 5060 }',
    '  - { name: c-refused, pop: t, address: 127.0.3.14, sipPort: 5060, sipTransport: tcp }',
    '  - { name: d-live, pop: t, address: 127.0.3.13, sipPort: 5060 }',
  ].join('\n'));
  const caller = await peer(t, '127.0.3.101');
  caller.send(request('INVITE', caller, CONN, { callId: 'fo-1' }), CONN.port, CONN.address);
  await caller.wait(isStatus(200, 'INVITE'), undefined, '200 after failover');
  t.equal(live.stats.invites, 1);
  t.equal(busy.received.filter(isRequest('ACK')).length, 1, 'the 503 was acknowledged hop by hop');
  t.equal(metric(await metrics(), 'vcp_sip_backend_failovers_total'), 3);
});

t.test('every backend failing gives 408 (timeouts) or 503 (transport)', async (t) => {
  await worker(t, '  - { name: a, pop: t, address: 127.0.3.15, sipPort: 5060 }');
  const caller = await peer(t, '127.0.3.102');
  caller.send(request('INVITE', caller, CONN), CONN.port, CONN.address);
  await caller.wait(isStatus(408, 'INVITE'), undefined, '408');
  t.pass('408 Request Timeout');
});

t.test('503 when the only backend refuses TCP', async (t) => {
  await worker(t, '  - { name: a, pop: t, address: 127.0.3.16, sipPort: 5060, sipTransport: tcp }');
  const caller = await peer(t, '127.0.3.103');
  caller.send(request('INVITE', caller, CONN), CONN.port, CONN.address);
  await caller.wait(isStatus(503, 'INVITE'), undefined, '503');
  t.pass('503 Service Unavailable');
});

t.test('CANCEL: 200 for the CANCEL, CANCEL to the backend, 487 to the caller', async (t) => {
  const ringing = await peer(t, '127.0.3.17', 5060);
  let inviteReq: SipRequest | undefined;
  ringing.onRequest = (req, reply) => {
    if (req.method === 'INVITE') {
      inviteReq = req;
      reply(answer(req, 180, 'Ringing'));
    }
    if (req.method === 'CANCEL') {
      reply(answer(req, 200, 'OK'));
      reply(answer(inviteReq!, 487, 'Request Terminated'));
    }
  };
  await worker(t, '  - { name: r, pop: t, address: 127.0.3.17, sipPort: 5060 }');
  const caller = await peer(t, '127.0.3.104');
  const inv = request('INVITE', caller, CONN, { callId: 'cancel-1', branch: 'z9hG4bK-cancel1' });
  caller.send(inv, CONN.port, CONN.address);
  await caller.wait(isStatus(180), undefined, '180');
  caller.send(inv.replace(/^INVITE/, 'CANCEL').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL'), CONN.port, CONN.address);
  await caller.wait(isStatus(200, 'CANCEL'), undefined, '200 for CANCEL');
  await caller.wait(isStatus(487, 'INVITE'), undefined, '487');
  t.ok(ringing.received.some(isRequest('CANCEL')), 'the backend got the CANCEL');
  t.ok(ringing.received.some(isRequest('ACK')), 'and the ACK for its 487');
});

t.test('answered locally: out-of-dialog OPTIONS to the connector; 483 at Max-Forwards 0; 400 for bad input', async (t) => {
  const backend = await uas(t, '127.0.3.18');
  await worker(t, '  - { name: b, pop: t, address: 127.0.3.18, sipPort: 5060 }');
  const caller = await peer(t, '127.0.3.105');
  caller.send(request('OPTIONS', caller, CONN, { uri: 'sip:127.0.3.2:25060', callId: 'opt-1' }), CONN.port, CONN.address);
  const ok = (await caller.wait((m) => m.callId === 'opt-1')) as SipResponse;
  t.equal(ok.status, 200);
  t.equal(backend.stats.other, 0, 'the keep-alive did not reach the backend');
  caller.send(request('INVITE', caller, CONN, { callId: 'mf-0', maxForwards: 0 }), CONN.port, CONN.address);
  t.equal(((await caller.wait((m) => m.callId === 'mf-0' && (m as SipResponse).status >= 200)) as SipResponse).status, 483);
  caller.send('INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.3.105;branch=z9hG4bKq\r\nCall-ID: bad-1\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nMax-Forwards: 999\r\n\r\n', CONN.port, CONN.address);
  const bad = (await caller.wait((m) => m.callId === 'bad-1')) as SipResponse;
  t.equal(bad.status, 400);
  t.equal(bad.reason, 'bad Max-Forwards', 'the reason says what was wrong');
});

t.test('TCP: a client sending one byte at a time ties up only its own socket; over-large messages are refused', async (t) => {
  const backend = await uas(t, '127.0.3.19');
  await worker(t, '  - { name: b, pop: t, address: 127.0.3.19, sipPort: 5060 }');
  const slow = connect(CONN.port, CONN.address);
  slow.on('error', () => undefined);
  const slowClosed = new Promise<void>((r) => slow.on('close', () => r()));
  slow.write('I');
  const timer = setInterval(() => slow.writable && slow.write('N'), 50);
  t.teardown(() => clearInterval(timer));
  // Meanwhile a normal call goes through.
  const caller = await peer(t, '127.0.3.106');
  caller.send(request('INVITE', caller, CONN, { callId: 'during-slow' }), CONN.port, CONN.address);
  await caller.wait((m) => m.callId === 'during-slow' && (m as SipResponse).status === 200);
  await slowClosed;
  clearInterval(timer);
  t.pass('the slow sender was cut off by the header timeout');
  const big = connect(CONN.port, CONN.address);
  big.on('error', () => undefined);
  const bigClosed = new Promise<void>((r) => big.on('close', () => r()));
  big.write(`OPTIONS sip:x@y SIP/2.0\r\nX-Pad: ${'a'.repeat(70000)}\r\n\r\n`);
  await bigClosed;
  t.pass('a message over 64 KiB closes the connection');
  t.equal(backend.stats.invites, 1);
});
