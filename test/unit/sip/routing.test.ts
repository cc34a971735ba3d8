import t from 'tap';
import fc from 'fast-check';
import { mock } from 'node:test';
import { endpointIdOf } from '../../../layer2/h323/gatekeeper.js';
import { ClientTransaction, outgoing } from '../../../layer2/sip/client-transaction.js';
import { FlowTokens } from '../../../layer2/sip/flow-token.js';
import { newBranch, newTag } from '../../../layer2/sip/ids.js';
import type { SipRequest, SipResponse } from '../../../layer2/sip/message.js';
import { parseSipMessage } from '../../../layer2/sip/parser.js';
import { isOurs, leadingOurs, nextHop, recordRoute, type Local, type RoutingFacts } from '../../../layer2/sip/routing.js';
import { clientLinger, clientRetransmit, serverLinger, serverRetransmit, timerPolicy } from '../../../layer2/sip/timers.js';
import { TransactionTable, TxState } from '../../../layer2/sip/transaction.js';
import type { Flow, Peer } from '../../../layer2/sip/transport.js';

const local: Local = { plain: { address: '192.0.2.2', port: 25060 }, wellKnown: { address: '192.0.2.1', port: 5060 } };
const flows = new FlowTokens(() => [Buffer.alloc(32, 1)]);
const server: Peer = { transport: 'udp', address: '192.0.2.10', port: 5060 };
const facts = (o: Partial<RoutingFacts> = {}): RoutingFacts => ({
  local,
  openFlowToken: (x) => flows.open(x),
  serverAt: (a, p) => (a === server.address && p === server.port ? server : undefined),
  fromServer: false,
  dialog: undefined,
  ...o,
});
const back = `<sip:192.0.2.2:25060;transport=udp;lr;vcf=${flows.make('u_198.51.100.7_5060')}>`;
const front = '<sip:192.0.2.1:5060;transport=udp;lr>';

t.test('routing: our own Record-Route leads back to the client flow it names, for a server only', async (t) => {
  t.same(nextHop({ uri: 'sip:room@198.51.100.7:5060', routes: [back, front] }, facts({ fromServer: true })), { kind: 'flow', key: 'u_198.51.100.7_5060', drop: 2 });
  t.match(nextHop({ uri: 'sip:room@198.51.100.7:5060', routes: [back, front] }, facts()), { kind: 'refuse', status: 403, why: 'flow_not_from_server' }, 'not from a server of the deployment');
  const other = new FlowTokens(() => [Buffer.alloc(32, 2)]).make('u_203.0.113.9_5060');
  t.match(nextHop({ uri: 'sip:x@203.0.113.9', routes: [`<sip:192.0.2.2:25060;lr;vcf=${other}>`] }, facts({ fromServer: true })), { kind: 'refuse', status: 403, why: 'bad_flow_token' }, 'a token another process (or an attacker) made');
  const forged = back.replace('198.51.100.7', '203.0.113.9');
  t.match(nextHop({ uri: 'sip:x@203.0.113.9', routes: [forged] }, facts({ fromServer: true })), { kind: 'refuse', why: 'bad_flow_token' }, 'a flow key changed under its MAC');
  fc.assert(fc.property(fc.string({ maxLength: 80 }), (x) => flows.open(x) === undefined || x.startsWith('u_')), { numRuns: 2000 });
  const rotated = new FlowTokens(() => [Buffer.alloc(32, 3), Buffer.alloc(32, 1)]);
  t.equal(rotated.open(flows.make('u_1_2')), 'u_1_2', 'a token under the previous key still leads to its flow during a rotation');
});

t.test('routing: towards a configured server by its address and port; maddr is never followed; anything else is refused', async (t) => {
  t.same(nextHop({ uri: 'sip:mcu@192.0.2.10:5060', routes: [front, back] }, facts()), { kind: 'server', peer: server, drop: 2 }, 'the client\'s in-dialog request along the route set');
  t.same(nextHop({ uri: 'sip:mcu@192.0.2.10', routes: [] }, facts()), { kind: 'server', peer: server, drop: 0 }, 'port 5060 by default');
  t.match(nextHop({ uri: 'sip:x@203.0.113.99:5070', routes: [] }, facts()), { kind: 'refuse', status: 403, why: 'not_relayed' }, 'an address the deployment did not decide');
  t.match(nextHop({ uri: 'sip:mcu@192.0.2.10:5060', routes: ['<sip:169.254.169.254:80;transport=tcp;lr>'] }, facts()), { kind: 'refuse', status: 403, why: 'not_relayed' }, 'a foreign Route');
  t.match(nextHop({ uri: 'sip:x@203.0.113.99;maddr=192.0.2.10', routes: [] }, facts()), { kind: 'refuse', why: 'not_relayed' }, 'maddr naming a server does not make the host one');
  t.same(nextHop({ uri: 'sip:x@192.0.2.10:5060;maddr=203.0.113.99', routes: [] }, facts()), { kind: 'server', peer: server, drop: 0 }, 'maddr elsewhere is ignored: the server is used');
  t.match(nextHop({ uri: 'sip:x@192.0.2.10:5061', routes: [] }, facts()), { kind: 'refuse', why: 'not_relayed' }, 'another port of a server\'s host');
  t.match(nextHop({ uri: 'tel:+15551234', routes: [] }, facts()), { kind: 'refuse', status: 416 });
  t.match(nextHop({ uri: 'sip:', routes: [] }, facts()), { kind: 'refuse', status: 400 });
});

t.test('routing: a dialog this worker proxied: a client ignoring Record-Route goes to its server, the server\'s requests to its client', async (t) => {
  const dialog = { server, clientFlow: 'u_198.51.100.7_5060' };
  t.same(nextHop({ uri: 'sip:192.0.2.1:5060', routes: [] }, facts({ dialog })), { kind: 'server', peer: server, drop: 0 });
  t.same(nextHop({ uri: 'sip:192.0.2.1:5060', routes: [] }, facts({ dialog, fromServer: true })), { kind: 'flow', key: dialog.clientFlow, drop: 0 });
  t.match(nextHop({ uri: 'sip:192.0.2.1:5060', routes: [] }, facts()), { kind: 'refuse', status: 481 }, 'no such dialog');
  t.same(nextHop({ uri: 'sip:room@198.51.100.7:5060', routes: [] }, facts({ dialog, fromServer: true })), { kind: 'flow', key: dialog.clientFlow, drop: 0 }, 'a server that ignores Record-Route');
  t.same(nextHop({ uri: 'sip:mcu@192.0.2.99:5060', routes: [] }, facts({ dialog })), { kind: 'server', peer: server, drop: 0 }, 'a Contact of another address: still only the dialog\'s server');
});

t.test('routing: which Route entries are ours; the Record-Route pair', async (t) => {
  t.ok(isOurs('sip:192.0.2.1', local) && isOurs('<sip:192.0.2.2:25060;lr>', local));
  t.notOk(isOurs('sip:192.0.2.2', local), 'the plain port is not 5060');
  t.equal(leadingOurs([front, back, '<sip:203.0.113.1;lr>'], local), 2);
  t.equal(leadingOurs(['<sip:203.0.113.1;lr>', front], local), 0);
  const rr = recordRoute(local, 'tcp', { localAddress: '192.0.2.1', localPort: 5060, transport: 'udp' }, flows.make('u_1_2'));
  t.match(rr[0], /^Record-Route: <sip:192\.0\.2\.2:25060;transport=tcp;lr;vcf=u_1_2~[A-Za-z0-9_-]{16}>$/);
  t.equal(rr[1], 'Record-Route: <sip:192.0.2.1:5060;transport=udp;lr>');
});

t.test('identifiers: branches and tags from the CSPRNG, never repeated', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) seen.add(newBranch());
  t.equal(seen.size, 20_000);
  t.match(newBranch(), /^z9hG4bK[A-Za-z0-9_-]{16}$/, '96 bits after the cookie');
  t.match(newTag(), /^[0-9a-f]{16}$/, '64 bits');
});

t.test('timers: RFC 3261 A/E doubling (E capped at T2, T2 once proceeding), G capped at T2, the lingers', async (t) => {
  const p = timerPolicy(500);
  const seq = (invite: boolean, proceeding: boolean): number[] => {
    const out: number[] = [];
    let i = 0;
    for (let n = 0; n < 6; n++) out.push((i = clientRetransmit(p, invite, proceeding, i)));
    return out;
  };
  t.same(seq(true, false), [500, 1000, 2000, 4000, 8000, 16000], 'Timer A: no cap');
  t.same(seq(false, false), [500, 1000, 2000, 4000, 4000, 4000], 'Timer E: capped at T2');
  t.same(seq(false, true), [4000, 4000, 4000, 4000, 4000, 4000], 'Timer E while proceeding: T2');
  t.same([serverRetransmit(p, 0), serverRetransmit(p, 2000), serverRetransmit(p, 4000)], [500, 4000, 4000], 'Timer G');
  t.equal(clientLinger(p, true, 486, 'udp'), 32_000, 'Timer D');
  t.equal(clientLinger(p, true, 486, 'tcp'), 0);
  t.equal(clientLinger(p, false, 200, 'udp'), 5000, 'Timer K');
  t.equal(clientLinger(p, true, 200, 'tcp'), 32_000, 'Timer M');
  t.equal(serverLinger(p, false, 'tcp'), 0, 'Timer J over TCP');
});

const INVITE = parseSipMessage(Buffer.from([
  'INVITE sip:room@192.0.2.1 SIP/2.0', 'Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKabc', 'Max-Forwards: 70', 'From: <sip:a@x>;tag=1',
  'To: <sip:room@192.0.2.1>', 'Call-ID: ct-1', 'CSeq: 1 INVITE', 'Content-Length: 0', '', ''].join('\r\n')), true) as SipRequest;
const response = (tx: ClientTransaction, status: number): SipResponse => parseSipMessage(Buffer.from([
  `SIP/2.0 ${status} X`, `Via: ${tx.sent.via}`, 'Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKabc', 'From: <sip:a@x>;tag=1',
  'To: <sip:room@192.0.2.1>;tag=s', 'Call-ID: ct-1', 'CSeq: 1 INVITE', 'Content-Length: 0', '', ''].join('\r\n')), true) as SipResponse;

/** Mocked time moves on; then the immediates run (a transaction's timers act after the I/O already waiting). */
async function advance(ms: number): Promise<void> {
  mock.timers.tick(ms);
  await new Promise((r) => setImmediate(r));
}

t.test('a client INVITE: retransmitted on Timer A until a response, Timer C once it rang, ACK for a non-2xx final', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  t.teardown(() => mock.timers.reset());
  const sent: string[] = [];
  const failed: string[] = [];
  const tx = new ClientTransaction({
    req: INVITE, dropRoutes: 0, peer: server, send: (b) => sent.push(b.toString()), sentBy: local.plain, timeoutMs: 4000, policy: timerPolicy(500),
    onFailed: (_c, why, detail) => failed.push(`${why}: ${detail}`),
  });
  t.match(sent[0], /^INVITE sip:room@192\.0\.2\.1 SIP\/2\.0\r\nVia: SIP\/2\.0\/UDP 192\.0\.2\.2:25060;branch=z9hG4bK[A-Za-z0-9_-]{16}\r\n/, 'our Via first');
  t.match(sent[0], /Max-Forwards: 69/);
  for (const step of [500, 1000, 2000]) await advance(step);
  t.equal(sent.length, 4, 'sent at 0, 0.5, 1.5 and 3.5 s');
  t.equal(tx.receive(response(tx, 180)), 'provisional');
  for (let i = 0; i < 60; i++) await advance(1000);
  t.equal(sent.length, 4, 'no retransmission once it rang');
  t.same(failed, [], 'Timer C, not the 4 s deadline');
  t.equal(tx.receive(response(tx, 486)), 'final');
  t.match(sent[4], /^ACK sip:room@192\.0\.2\.1 SIP\/2\.0/, 'hop-by-hop ACK');
  t.equal(tx.receive(response(tx, 486)), 'final-again');
  t.match(sent[5], /^ACK /, 'and for its retransmission');
  t.equal(tx.state, TxState.Completed);
  t.ok(tx.from({ transport: 'udp', remoteAddress: '192.0.2.10', remotePort: 5060 } as Flow));
  t.notOk(tx.from({ transport: 'udp', remoteAddress: '203.0.113.66', remotePort: 5060 } as Flow), 'a response from elsewhere is not its');
  t.notOk(tx.from({ transport: 'tcp', remoteAddress: '192.0.2.10', remotePort: 5060 } as Flow), 'nor over another transport');
});

t.test('a client INVITE that rang too long: Timer C cancels it and fails it', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  t.teardown(() => mock.timers.reset());
  const sent: string[] = [];
  const failed: string[] = [];
  const tx = new ClientTransaction({ req: INVITE, dropRoutes: 0, peer: server, send: (b) => sent.push(b.toString()), sentBy: local.plain, timeoutMs: 4000, policy: timerPolicy(500), onFailed: (_c, why, d) => failed.push(`${why}: ${d}`) });
  tx.cancel();
  t.equal(sent.length, 1, 'no CANCEL before a provisional response (RFC 3261 9.1)');
  tx.receive(response(tx, 180));
  t.match(sent[1], /^CANCEL /, 'sent as soon as it rang');
  for (let i = 0; i < 180; i++) await advance(1000);
  t.same(failed, ['timeout: no final response']);
});

t.test('the transaction table: bounded per source (awaiting an answer) and globally', async (t) => {
  const finals: number[] = [];
  const table = new TransactionTable({ maxTransactions: 3, maxTransactionsPerSource: 2 }, () => timerPolicy(500), (_s, status) => finals.push(status));
  const flow = (a: string): Flow => ({ transport: 'tcp', proxied: false, remoteAddress: a, remotePort: 1, localAddress: '', localPort: 0, key: a, send: () => undefined, isOpen: () => true });
  const s1 = table.open('k1', INVITE, flow('198.51.100.1'));
  table.open('k2', INVITE, flow('198.51.100.1'));
  t.equal(table.admit('198.51.100.1'), 'source', 'the third pending one of a source');
  t.equal(table.admit('198.51.100.2'), undefined);
  table.respond(s1, 486, 'Busy Here');
  t.same(finals, [486]);
  t.equal(table.admit('198.51.100.1'), undefined, 'an answered one no longer counts against its source');
  table.open('k3', INVITE, flow('198.51.100.2'));
  t.equal(table.admit('198.51.100.3'), 'global', 'the whole table is full');
  table.sweep(Date.now() + 3_600_000);
  t.equal(table.servers.size, 2, 'finished ones go after their linger; pending ones stay');
  t.equal(table.pendingOf('198.51.100.1'), 1);
});

t.test('outgoing requests: Via on top, Max-Forwards decremented, our Routes dropped', async (t) => {
  const req = parseSipMessage(Buffer.from([
    'BYE sip:mcu@192.0.2.10 SIP/2.0', 'Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKq', `Route: ${front}, ${back}`, 'Max-Forwards: 5', 'From: <sip:a@x>;tag=1',
    'To: <sip:b@y>;tag=2', 'Call-ID: o1', 'CSeq: 2 BYE', 'Content-Length: 0', '', ''].join('\r\n')), true) as SipRequest;
  const o = outgoing(req, { top: [], dropRoutes: 2, transport: 'tcp', sentBy: local.plain });
  const text = o.bytes.toString();
  t.match(text, new RegExp(`^BYE sip:mcu@192\\.0\\.2\\.10 SIP/2\\.0\\r\\nVia: SIP/2\\.0/TCP 192\\.0\\.2\\.2:25060;branch=${o.branch}\\r\\n`));
  t.notMatch(text, /Route:/);
  t.match(text, /Max-Forwards: 4/);
});

t.test('RAS: an endpointIdentifier padded with NULs (an endpoint behind GnuGk) is the one assigned', async (t) => {
  t.equal(endpointIdOf(`c/0-1a${'\0'.repeat(122)}`), 'c/0-1a');
  t.equal(endpointIdOf('c/0-1a'), 'c/0-1a');
  t.equal(endpointIdOf(undefined), '');
});
