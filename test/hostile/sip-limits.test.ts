import t, { type Test } from 'tap';
import type { SipRequest, SipResponse } from '../../layer2/sip/message.js';
import { answer, isRequest, isStatus, request, SipPeer } from '../helpers/sip-peer.js';
import { waitFor } from '../helpers/procs.js';
import { metric, startStack, type Stack } from '../helpers/stack.js';
import { sipPop } from './sip-pop.js';

// The SIP transaction table of a running connector under a flood: bounded per source (the requests
// of one address awaiting their final response) and for the worker (every transaction it holds).
// Layer 1 on 127.0.128.1, the connector on .2, its server on .10 (a scripted peer that never answers
// the attackers, 127.0.129.0/24, and answers everyone else). Small bounds: 20 per source, 60 in all.

const { yaml: YAML, wk: WK, conn: CONN, server: SERVER } = sipPop('127.0.128', '{ backendTimeoutMs: 60000, maxTransactionsPerSource: 20, maxTransactions: 60 }');

let stack: Stack;
let server: SipPeer;
const held: SipRequest[] = [];

t.before(async () => {
  server = await SipPeer.open(SERVER, 5060);
  server.onRequest = (req, reply) => {
    if (req.method !== 'INVITE') return;
    if (req.from.uri.includes('127.0.129.')) held.push(req);
    else reply(answer(req, 200, 'OK', [`Contact: <sip:mcu@${SERVER}:5060>`]));
  };
  stack = await startStack(YAML);
});
t.teardown(async () => {
  await stack?.stop();
  server?.close();
});

async function peer(t: Test, address: string): Promise<SipPeer> {
  const p = await SipPeer.open(address);
  t.teardown(() => p.close());
  return p;
}

t.test('a flooding source gets 503 with Retry-After past its bound, the worker past its own; honest calls go on meanwhile', async (t) => {
  const metrics = (): Promise<string> => stack.workerMetrics('c/0');
  const flood = await peer(t, '127.0.129.10');
  for (let i = 0; i < 25; i++) flood.send(request('INVITE', flood, WK, { callId: `flood-${i}` }), WK.port, WK.address);
  await waitFor('5 refused', () => flood.received.filter(isStatus(503)).length === 5);
  t.match((flood.received.find(isStatus(503)) as SipResponse).raw.toString(), /\r\nRetry-After: 2\r\n/, 'with Retry-After');
  await waitFor('the first 20 in progress', () => flood.received.filter(isStatus(100)).length === 20);
  t.equal(flood.received.filter(isStatus(100)).length, 20, 'the first 20 are in progress, held by the server (100 Trying)');
  t.equal(metric(await metrics(), 'vcp_sip_transaction_limit_total', { scope: 'source' }), 5);

  const honest = await peer(t, '127.0.130.1');
  honest.send(request('INVITE', honest, WK, { callId: 'honest-1' }), WK.port, WK.address);
  await honest.wait((m) => m.callId === 'honest-1' && (m as SipResponse).status === 200);
  t.pass('an honest caller from another source is served');

  // Two more sources, each within its own bound, fill the worker's table (60 transactions).
  const more = [await peer(t, '127.0.129.11'), await peer(t, '127.0.129.12')];
  for (const p of more) for (let i = 0; i < 20; i++) p.send(request('INVITE', p, CONN, { callId: `more-${p.address}-${i}` }), CONN.port, CONN.address);
  await waitFor('the worker full', async () => metric(await metrics(), 'vcp_sip_transaction_limit_total', { scope: 'global' }) >= 1);
  const full = [...more[0]!.received, ...more[1]!.received].find(isStatus(503)) as SipResponse;
  t.match(full.raw.toString(), /\r\nRetry-After: 5\r\n/, 'the worker\'s own bound: a longer Retry-After');
  t.ok(new Set(server.received.filter(isRequest('INVITE')).map((m) => m.callId)).size <= 60, 'no more than the table holds reached the server');

  // The server answers the held calls: the flooding source no longer has any awaiting an answer; the
  // answered ones stay in the table a while (they absorb retransmissions), so it is the worker's
  // bound that still applies.
  for (const req of held.splice(0)) server.send(answer(req, 486, 'Busy Here'), CONN.port, CONN.address);
  await waitFor('the flood answered', () => flood.received.filter(isStatus(486)).length === 20);
  const bySource = metric(await metrics(), 'vcp_sip_transaction_limit_total', { scope: 'source' });
  flood.send(request('INVITE', flood, CONN, { callId: 'after-1' }), CONN.port, CONN.address);
  const after = (await flood.wait((m) => m.callId === 'after-1' && (m as SipResponse).status >= 200)) as SipResponse;
  t.match(after.raw.toString(), /^SIP\/2\.0 503 [^]*\r\nRetry-After: 5\r\n/, 'refused for the worker\'s table, not for the source');
  t.equal(metric(await metrics(), 'vcp_sip_transaction_limit_total', { scope: 'source' }), bySource);
});
