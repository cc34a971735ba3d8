import t, { type Test } from 'tap';
import { parseConfig } from '../../shared/config/load.js';
import { createLogger } from '../../shared/logger.js';
import { startWorker, type WorkerHandle } from '../../layer2/worker.js';
import { endpointType } from '../../layer2/h323/builder.js';
import { dialledDigits, h323Id, newGuid, transportAddress, type AliasAddress } from '../../layer2/h323/h225.js';
import { buildArq, buildGrq, buildLrq, buildRrq, buildUrq, encodeRas, rasBody, type RasMessage } from '../../layer2/h323/ras.js';
import { summarizeRas } from '../../layer2/h323/summary.js';
import type { PerObject } from '../../layer2/h323/per/types.js';
import { RasClient } from '../helpers/h323-peer.js';
import { IDENTITIES } from '../helpers/h323-vectors.js';
import { waitFor } from '../helpers/procs.js';
import { metric, startStack } from '../helpers/stack.js';

// Attacks on the RAS gatekeeper (UDP, so a source address is all a datagram proves): an in-process
// worker on 127.0.40.3 attacked directly, then a real layer 1 + connector attacked through the
// well-known address. Attackers and victims are endpoints in 127.0.40.0/24.
const WK = '127.0.40.1';
const GK = '127.0.40.3';
const RAS = 21719;
const log = createLogger('test');
log.level = 'silent';

async function worker(t: Test, ras = ''): Promise<WorkerHandle> {
  const dir = t.testdir();
  const config = parseConfig(`
pop: t
wellKnown: { address: ${WK}, h323: 1720, ras: 1719 }
pops: [ { name: t } ]
connectors:
  - { name: c, pop: t, address: ${GK}, workers: 1, ports: { sip: 25060, h323: 21720, ras: ${RAS}, health: 18080 } }
servers:
  - { name: m, pop: t, address: 127.0.40.30, sipPort: 0, h323Port: 1720 }
h323: { ras: { timeToLiveS: 120${ras} } }
limits: { flood: { requestsPerSecond: 0 } }
profiles: { path: profiles }
`, `${dir}/hostile-ras.yaml`);
  const w = await startWorker(config, config.connectors[0]!.endpoints[0]!, log);
  t.teardown(() => w.close());
  return w;
}

async function endpoint(t: Test, address: string): Promise<RasClient> {
  const c = await RasClient.open(address);
  t.teardown(() => c.close());
  return c;
}

const body = (m: RasMessage): PerObject => rasBody(m)!;
const metrics = async (): Promise<string> => (await fetch(`http://${GK}:18080/metrics`)).text();

function rrq(seq: number, ep: RasClient, address: string, aliases: AliasAddress[], extra: Partial<PerObject> = {}): RasMessage {
  const et = endpointType(IDENTITIES.polycom);
  const m = buildRrq({ requestSeqNum: seq, callSignalAddress: [transportAddress(address, 1720)], rasAddress: [transportAddress(address, ep.port)], terminalType: et, vendor: et.vendor!, aliases, timeToLive: 60 });
  Object.assign(body(m), extra);
  return m;
}

const arq = (seq: number, endpointIdentifier: string, dest: string): RasMessage =>
  buildArq({ requestSeqNum: seq, endpointIdentifier, srcInfo: [h323Id('room')], destinationInfo: [dialledDigits(dest)], callReferenceValue: seq, conferenceID: newGuid(), callIdentifier: newGuid() });

/** The gatekeeper answers `ep` in order: once the reply to `seq` is in, an earlier datagram was answered or never will be. */
async function answeredBefore(ep: RasClient, seq: number, address: string): Promise<void> {
  ep.send(buildGrq({ requestSeqNum: seq, rasAddress: transportAddress(address, ep.port), endpointType: endpointType(IDENTITIES.polycom) }), RAS, GK);
  await ep.reply(seq);
}

t.test('directly: an alias held by a live registration of another source cannot be taken, unregistered or used', async (t) => {
  const w = await worker(t);
  const victim = await endpoint(t, '127.0.40.50');
  victim.send(rrq(1, victim, '127.0.40.50', [h323Id('boardroom'), dialledDigits('7001')]), RAS, GK);
  const rcf = await victim.reply(1);
  const id = body(rcf).endpointIdentifier as string;
  t.match(summarizeRas(rcf), { ras: 'RCF' });

  const attacker = await endpoint(t, '127.0.40.66');
  attacker.send(rrq(2, attacker, '127.0.40.66', [h323Id('Boardroom'), dialledDigits('6666')]), RAS, GK);
  const rrj = await attacker.reply(2);
  t.match(summarizeRas(rrj), { ras: 'RRJ', rejectReason: 'duplicateAlias' }, 'the alias another source holds is refused');
  t.same((body(rrj).rejectReason as { value: AliasAddress[] }).value.map((a) => a.value), ['Boardroom'], 'RRJ names the alias taken');

  attacker.send(buildUrq({ requestSeqNum: 3, callSignalAddress: [transportAddress('127.0.40.66', 1720)], aliases: [h323Id('boardroom')] }), RAS, GK);
  t.match(summarizeRas(await attacker.reply(3)), { ras: 'URJ' }, 'URQ by alias from another source: refused');
  attacker.send(buildUrq({ requestSeqNum: 4, callSignalAddress: [transportAddress('127.0.40.66', 1720)], endpointIdentifier: id }), RAS, GK);
  t.match(summarizeRas(await attacker.reply(4)), { ras: 'URJ' }, 'URQ naming the victim\'s identifier from another source: refused');
  attacker.send(rrq(5, attacker, '127.0.40.66', [], { keepAlive: true, endpointIdentifier: id }), RAS, GK);
  t.match(summarizeRas(await attacker.reply(5)), { ras: 'RRJ', rejectReason: 'fullRegistrationRequired' }, 'a keep-alive with the victim\'s identifier from another source: refused');
  attacker.send(arq(6, id, '7001'), RAS, GK);
  t.match(summarizeRas(await attacker.reply(6)), { ras: 'ARJ', rejectReason: 'callerNotRegistered' }, 'an ARQ with the victim\'s identifier from another source: not registered');

  // The victim is untouched: still registered, still reachable by its alias, and its own URQ works.
  const now = Date.now();
  t.equal(w.gatekeeper.table.byAlias(h323Id('boardroom'), now)?.endpointId, id, 'the victim still holds its alias');
  t.equal(w.gatekeeper.table.size, 1, 'nothing else was registered');
  victim.send(arq(7, id, '7001'), RAS, GK);
  t.match(summarizeRas(await victim.reply(7)), { ras: 'ACF' });
  victim.send(rrq(8, victim, '127.0.40.50', [], { keepAlive: true, endpointIdentifier: `${id}\0\0` }), RAS, GK);
  t.match(summarizeRas(await victim.reply(8)), { ras: 'RCF', endpointIdentifier: id }, 'its keep-alive (identifier NUL-padded, as some endpoints send it) refreshes it');
  victim.send(buildUrq({ requestSeqNum: 9, callSignalAddress: [transportAddress('127.0.40.50', 1720)], endpointIdentifier: id }), RAS, GK);
  t.match(summarizeRas(await victim.reply(9)), { ras: 'UCF' });
  attacker.send(rrq(10, attacker, '127.0.40.66', [h323Id('boardroom')]), RAS, GK);
  t.match(summarizeRas(await attacker.reply(10)), { ras: 'RCF' }, 'once the holder is gone, the alias is free');
  const m = await metrics();
  t.equal(metric(m, 'vcp_h323_ras_refused_total', { reason: 'duplicate_alias' }), 1);
  t.equal(metric(m, 'vcp_h323_ras_refused_total', { reason: 'not_registrant' }), 3, 'URQ ×2 and the keep-alive');
});

t.test('directly: endpoint identifiers cannot be guessed', async (t) => {
  await worker(t);
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    const ep = await endpoint(t, `127.0.40.${100 + i}`);
    ep.send(rrq(1, ep, ep.socket.address().address, [h323Id(`room-${i}`)]), RAS, GK);
    ids.push(body(await ep.reply(1)).endpointIdentifier as string);
  }
  t.equal(new Set(ids).size, 20, 'all different');
  for (const id of ids) t.match(id, /^c\/0-[0-9a-f]{24}$/, 'the worker, then 96 random bits');
  const suffixes = ids.map((id) => BigInt(`0x${id.slice(4)}`));
  const steps = new Set(suffixes.slice(1).map((s, i) => s - suffixes[i]!));
  t.equal(steps.size, 19, 'no constant step between consecutive identifiers');
});

t.test('directly: LRQ only from neighbours; caps per RRQ, per datagram and per source', async (t) => {
  await worker(t, ', neighbours: [127.0.40.77/32], maxRegistrationsPerSource: 3');
  const stranger = await endpoint(t, '127.0.40.78');
  stranger.send(buildLrq({ requestSeqNum: 1, destinationInfo: [dialledDigits('8001')], replyAddress: transportAddress('198.51.100.9', 1719) }), RAS, GK);
  await answeredBefore(stranger, 2, '127.0.40.78');
  t.equal(stranger.replies.length, 1, 'the LRQ of a stranger got no answer (only the GRQ after it did)');
  const neighbour = await endpoint(t, '127.0.40.77');
  neighbour.send(buildLrq({ requestSeqNum: 3, destinationInfo: [dialledDigits('8001')], replyAddress: transportAddress('127.0.40.77', neighbour.port) }), RAS, GK);
  t.match(summarizeRas(await neighbour.reply(3)), { ras: 'LCF' }, 'a neighbour is answered');

  // An alias bomb: 8,000 aliases in one RRQ. Over maxDatagramBytes: dropped before decoding.
  const bomb = (seq: number, ep: RasClient, address: string): RasMessage => rrq(seq, ep, address, Array.from({ length: 8000 }, (_, i) => dialledDigits(String(100000 + i))));
  const bomber = await endpoint(t, '127.0.40.90');
  const bytes = encodeRas(bomb(4, bomber, '127.0.40.90'));
  t.ok(bytes.length > 4096 && bytes.length < 65507, `the bomb is one datagram of ${bytes.length} octets`);
  bomber.send(bytes, RAS, GK);
  await answeredBefore(bomber, 5, '127.0.40.90');
  t.equal(bomber.replies.length, 1, 'no answer to the bomb');
  await waitFor('the bomb counted', async () => metric(await metrics(), 'vcp_h323_ras_dropped_total', { reason: 'too_large' }) === 1);

  // Per source: the fourth registration of one address is refused; another address still registers.
  for (let i = 0; i < 3; i++) {
    const ep = await endpoint(t, '127.0.40.91');
    ep.send(rrq(10 + i, ep, '127.0.40.91', [h323Id(`crowd-${i}`)]), RAS, GK);
    t.match(summarizeRas(await ep.reply(10 + i)), { ras: 'RCF' });
  }
  const fourth = await endpoint(t, '127.0.40.91');
  fourth.send(rrq(13, fourth, '127.0.40.91', [h323Id('crowd-3')]), RAS, GK);
  t.match(summarizeRas(await fourth.reply(13)), { ras: 'RRJ', rejectReason: 'resourceUnavailable' }, 'over maxRegistrationsPerSource');
  const other = await endpoint(t, '127.0.40.92');
  other.send(rrq(14, other, '127.0.40.92', [h323Id('crowd-4')]), RAS, GK);
  t.match(summarizeRas(await other.reply(14)), { ras: 'RCF' }, 'another source is not affected');
  t.equal(metric(await metrics(), 'vcp_h323_ras_refused_total', { reason: 'source_full' }), 1);
});

t.test('directly: an alias bomb that fits the datagram limit is refused by the alias cap', async (t) => {
  const w = await worker(t, ', maxDatagramBytes: 65535');
  const bomber = await endpoint(t, '127.0.40.93');
  const aliases = Array.from({ length: 8000 }, (_, i) => dialledDigits(String(100000 + i)));
  bomber.send(rrq(1, bomber, '127.0.40.93', aliases), RAS, GK);
  t.match(summarizeRas(await bomber.reply(1)), { ras: 'RRJ', rejectReason: 'resourceUnavailable' }, 'more than maxAliases (32)');
  t.equal(w.gatekeeper.table.size, 0, 'nothing stored');
  t.equal(metric(await metrics(), 'vcp_h323_ras_refused_total', { reason: 'too_many_aliases' }), 1);
});

t.test('directly: with the caps at their highest, a 1,024-alias RRQ twice and from another source is answered, and its RRJ stays small', async (t) => {
  const w = await worker(t, ', maxDatagramBytes: 65535, maxAliases: 1024');
  const aliases = Array.from({ length: 1024 }, (_, i) => dialledDigits(String(100000 + i)));
  const a = await endpoint(t, '127.0.40.94');
  a.send(rrq(1, a, '127.0.40.94', aliases), RAS, GK);
  t.match(summarizeRas(await a.reply(1)), { ras: 'RCF' });
  a.send(rrq(2, a, '127.0.40.94', aliases), RAS, GK);
  t.match(summarizeRas(await a.reply(2)), { ras: 'RCF' }, 'again from the same source: the earlier registration gives way');
  const b = await endpoint(t, '127.0.40.95');
  b.send(rrq(3, b, '127.0.40.95', aliases), RAS, GK);
  const rrj = await b.reply(3);
  t.match(summarizeRas(rrj), { ras: 'RRJ', rejectReason: 'duplicateAlias' }, 'from another source: refused');
  t.ok(b.raw[0]!.length < 512, `the RRJ names a few of the aliases, not 1,024 (${b.raw[0]!.length} octets): no amplification`);
  t.equal(w.gatekeeper.table.size, 1, 'one registration');
  t.equal(w.gatekeeper.table.byAlias(dialledDigits('101023'), Date.now())?.rasAddress, '127.0.40.94', 'every alias indexed once, to its source');
});

t.test('through layer 1: the real client address is what a registration is bound to', async (t) => {
  const stack = await startStack(`
pop: t
wellKnown: { address: ${WK}, sip: 5060, h323: 1720, ras: 1719 }
pops: [ { name: t } ]
layer1:
  health: { intervalMs: 100, timeoutMs: 200, fall: 3, rise: 1 }
  metrics: { address: ${WK}, port: 9100 }
  control: { address: ${WK}, port: 9101 }
connectors:
  - { name: c, pop: t, address: 127.0.40.4, workers: 1, ports: { sip: 25060, h323: 21720, rasProxied: 11719, ras: 21719, health: 18080 } }
servers:
  - { name: m, pop: t, address: 127.0.40.30, sipPort: 0, h323Port: 1720, probe: none }
`);
  t.teardown(() => stack.stop());
  const victim = await endpoint(t, '127.0.40.60');
  victim.send(rrq(1, victim, '127.0.40.60', [h323Id('lobby')]), 1719, WK);
  const rcf = await victim.reply(1);
  t.match(summarizeRas(rcf), { ras: 'RCF' }, 'registered through layer 1');
  const id = body(rcf).endpointIdentifier as string;
  const attacker = await endpoint(t, '127.0.40.61');
  attacker.send(rrq(2, attacker, '127.0.40.61', [h323Id('lobby')]), 1719, WK);
  t.match(summarizeRas(await attacker.reply(2)), { ras: 'RRJ', rejectReason: 'duplicateAlias' }, 'another client of layer 1 cannot take it');
  attacker.send(buildUrq({ requestSeqNum: 3, callSignalAddress: [transportAddress('127.0.40.61', 1720)], endpointIdentifier: id }), 1719, WK);
  t.match(summarizeRas(await attacker.reply(3)), { ras: 'URJ' }, 'nor unregister it');
  attacker.send(buildLrq({ requestSeqNum: 4, destinationInfo: [h323Id('lobby')], replyAddress: transportAddress('127.0.40.61', attacker.port) }), 1719, WK);
  attacker.send(buildGrq({ requestSeqNum: 5, rasAddress: transportAddress('127.0.40.61', attacker.port), endpointType: endpointType(IDENTITIES.polycom) }), 1719, WK);
  await attacker.reply(5);
  t.notOk(attacker.replies.some((r) => summarizeRas(r).ras === 'LCF' || summarizeRas(r).ras === 'LRJ'), 'nor locate it (an LRQ from a client gets no answer)');
  victim.send(rrq(6, victim, '127.0.40.60', [], { keepAlive: true, endpointIdentifier: id }), 1719, WK);
  t.match(summarizeRas(await victim.reply(6)), { ras: 'RCF' }, 'the victim keeps its registration');
});
