import t, { type Test } from 'tap';
import { parseConfig } from '../../shared/config/load.js';
import { createLogger } from '../../shared/logger.js';
import { encodeProxyV2 } from '../../shared/proxy-v2.js';
import { startWorker, type WorkerHandle } from '../../layer2/worker.js';
import { endpointType } from '../../layer2/h323/builder.js';
import { dialledDigits, h323Id, newGuid, transportAddress } from '../../layer2/h323/h225.js';
import { buildArq, buildDrq, buildGrq, buildLrq, buildRrq, buildUrq, encodeRas, rasBody, type RasMessage } from '../../layer2/h323/ras.js';
import { summarizeRas } from '../../layer2/h323/summary.js';
import type { PerObject } from '../../layer2/h323/per/types.js';
import { metric } from '../helpers/stack.js';
import { waitFor } from '../helpers/procs.js';
import { RasClient } from '../helpers/h323-peer.js';
import { IDENTITIES } from '../helpers/h323-vectors.js';
import { dissect, fieldValues, makePcap, problems, withTempDir } from '../helpers/tshark.js';

// An in-process worker on 127.0.61.3 (POP t) answering RAS; a second connector of POP u (127.0.61.4,
// two workers) is in the configuration only, as the alternate gatekeepers. Endpoints in 127.0.61.0/24.
const WK = '127.0.61.1';
const GK = '127.0.61.3';
const RAS = 21719;
const log = createLogger('test');
log.level = 'silent';

async function worker(t: Test, extra = ''): Promise<WorkerHandle> {
  const dir = t.testdir();
  const config = parseConfig(`
pop: t
wellKnown: { address: ${WK}, h323: 1720, ras: 1719 }
pops: [ { name: t }, { name: u } ]
connectors:
  - { name: c, pop: t, address: ${GK}, workers: 1, ports: { sip: 25060, h323: 21720, ras: ${RAS}, rasProxied: 11719, health: 18080 } }
  - { name: cu, pop: u, address: 127.0.61.4, workers: 2, ports: { sip: 25060, h323: 21720, ras: ${RAS}, health: 18080 } }
servers:
  - { name: m, pop: t, address: 127.0.61.30, sipPort: 0, h323Port: 1720 }
  - { name: mu, pop: u, address: 127.0.61.31, sipPort: 0, h323Port: 1720 }
networks:
  - { name: far, prefixes: [127.0.61.40/29], accessible: [u] }
h323: { ras: { timeToLiveS: 120, neighbours: [127.0.61.50/32] } }
profiles: { path: profiles }
${extra}
`, `${dir}/ras-test.yaml`);
  const w = await startWorker(config, config.connectors[0]!.endpoints[0]!, log);
  t.teardown(() => w.close());
  return w;
}

async function endpoint(t: Test, address: string): Promise<RasClient> {
  const c = await RasClient.open(address);
  t.teardown(() => c.close());
  return c;
}

const metrics = async (): Promise<string> => (await fetch(`http://${GK}:18080/metrics`)).text();
const body = (m: RasMessage): PerObject => rasBody(m)!;

function rrq(seq: number, ep: RasClient, address: string, identity = IDENTITIES.polycom): RasMessage {
  const et = endpointType(identity);
  return buildRrq({ requestSeqNum: seq, callSignalAddress: [transportAddress(address, 1720)], rasAddress: [transportAddress(address, ep.port)], terminalType: et, vendor: et.vendor!, aliases: [h323Id(`room-${seq}`), dialledDigits(`70${seq}`)], timeToLive: 60, supportsAltGK: true });
}

/** A lightweight RRQ: keepAlive with the endpoint identifier. */
function keepAlive(seq: number, ep: RasClient, address: string, endpointIdentifier: string): RasMessage {
  const m = rrq(seq, ep, address);
  Object.assign(body(m), { keepAlive: true, endpointIdentifier });
  return m;
}

const arq = (seq: number, endpointIdentifier: string, dest: string, answerCall = false): RasMessage =>
  buildArq({ requestSeqNum: seq, endpointIdentifier, srcInfo: [h323Id('room')], destinationInfo: [dialledDigits(dest)], callReferenceValue: seq, conferenceID: newGuid(), callIdentifier: newGuid(), answerCall });

const ALTERNATES = ['127.0.61.4:21719', '127.0.61.4:21720'];

t.test('GRQ, RRQ, keep-alive, ARQ, LRQ, DRQ, URQ: confirms with this connector\'s addresses and the other POP\'s gatekeepers', async (t) => {
  await worker(t);
  const ep = await endpoint(t, '127.0.61.50');
  const et = endpointType(IDENTITIES.polycom);
  ep.send(buildGrq({ requestSeqNum: 1, rasAddress: transportAddress('127.0.61.50', ep.port), endpointType: et, supportsAltGK: true }), RAS, GK);
  t.match(summarizeRas(await ep.reply(1)), { ras: 'GCF', rasAddress: `${GK}:${RAS}`, gatekeeperIdentifier: 'vcproxy-t', alternateGatekeepers: ALTERNATES });

  ep.send(rrq(2, ep, '127.0.61.50'), RAS, GK);
  const rcf = await ep.reply(2);
  t.match(summarizeRas(rcf), { ras: 'RCF', callSignalAddress: [`${GK}:21720`], endpointIdentifier: /^c\/0-/, alternateGatekeepers: ALTERNATES });
  t.equal(body(rcf).timeToLive, 60, 'the time to live asked for (under the configured one)');
  const id = body(rcf).endpointIdentifier as string;

  ep.send(keepAlive(3, ep, '127.0.61.50', id), RAS, GK);
  t.match(summarizeRas(await ep.reply(3)), { ras: 'RCF', endpointIdentifier: id });
  ep.send(keepAlive(4, ep, '127.0.61.50', 'nobody'), RAS, GK);
  t.match(summarizeRas(await ep.reply(4)), { ras: 'RRJ', rejectReason: 'fullRegistrationRequired' });

  ep.send(arq(5, id, '8001'), RAS, GK);
  t.match(summarizeRas(await ep.reply(5)), { ras: 'ACF', destCallSignalAddress: `${GK}:21720` }, 'a meeting call goes through the connector');
  // An endpoint behind GnuGk sends the identifier it was given padded with NULs to 128 characters.
  ep.send(arq(55, id.padEnd(128, '\0'), '8001'), RAS, GK);
  t.match(summarizeRas(await ep.reply(55)), { ras: 'ACF', destCallSignalAddress: `${GK}:21720` }, 'an ARQ with a NUL-padded endpointIdentifier is admitted');
  // Another endpoint registers; a call to its alias goes to it.
  const other = await endpoint(t, '127.0.61.51');
  other.send(rrq(6, other, '127.0.61.51'), RAS, GK);
  await other.reply(6);
  ep.send(arq(7, id, '706'), RAS, GK);
  t.match(summarizeRas(await ep.reply(7)), { ras: 'ACF', destCallSignalAddress: '127.0.61.51:1720' }, 'a call to a registered alias goes to that endpoint');
  ep.send(buildLrq({ requestSeqNum: 8, destinationInfo: [h323Id('room-6')], replyAddress: transportAddress('127.0.61.50', ep.port) }), RAS, GK);
  t.match(summarizeRas(await ep.reply(8)), { ras: 'LCF', callSignalAddress: ['127.0.61.51:1720'] });
  ep.send(buildLrq({ requestSeqNum: 9, destinationInfo: [dialledDigits('8001')], replyAddress: transportAddress('127.0.61.50', ep.port) }), RAS, GK);
  t.match(summarizeRas(await ep.reply(9)), { ras: 'LCF', callSignalAddress: [`${GK}:21720`] }, 'a meeting is located at the connector');
  ep.send(buildDrq({ requestSeqNum: 10, endpointIdentifier: id, conferenceID: newGuid(), callReferenceValue: 5, callIdentifier: newGuid() }), RAS, GK);
  t.match(summarizeRas(await ep.reply(10)), { ras: 'DCF' });
  ep.send(buildUrq({ requestSeqNum: 11, callSignalAddress: [transportAddress('127.0.61.50', 1720)], endpointIdentifier: id }), RAS, GK);
  t.match(summarizeRas(await ep.reply(11)), { ras: 'UCF' });
  ep.send(arq(12, id, '8001'), RAS, GK);
  t.match(summarizeRas(await ep.reply(12)), { ras: 'ARJ', rejectReason: 'callerNotRegistered' }, 'unregistered now');

  // Answers decode in Wireshark too, with the alternate gatekeepers where we put them.
  withTempDir('ras', (dir) => {
    const pcap = makePcap(dir, ep.raw.slice(0, 2).map((bytes) => ({ bytes })), 'udp', 1719);
    t.equal(problems(pcap), '', 'tshark finds nothing malformed in GCF and RCF');
    for (const p of dissect(pcap)) t.same(fieldValues(p.h225, 'h225.ipV4').filter((a) => a === '127.0.61.4').length, 2, 'two alternate gatekeepers');
  });
  const m = await metrics();
  t.equal(metric(m, 'vcp_h323_registrations'), 1);
  t.equal(metric(m, 'vcp_h323_ras_messages_total', { type: 'RRQ' }), 4);
});

t.test('a class taken by redirect: RRJ with altGKInfo naming its POP when that is another; ACF straight to the server otherwise', async (t) => {
  await worker(t, 'techniques: { classes: { "h323/lifesize": redirect } }');
  const far = await endpoint(t, '127.0.61.41');
  far.send(rrq(1, far, '127.0.61.41', IDENTITIES.lifesize), RAS, GK);
  const rrj = await far.reply(1);
  t.match(summarizeRas(rrj), { ras: 'RRJ', rejectReason: 'resourceUnavailable', alternateGatekeepers: ALTERNATES }, 'the network reaches only POP u');
  const near = await endpoint(t, '127.0.61.52');
  near.send(rrq(2, near, '127.0.61.52', IDENTITIES.lifesize), RAS, GK);
  const id = body(await near.reply(2)).endpointIdentifier as string;
  near.send(arq(3, id, '8001'), RAS, GK);
  t.match(summarizeRas(await near.reply(3)), { ras: 'ACF', destCallSignalAddress: '127.0.61.30:1720' }, 'straight to the chosen server');
  withTempDir('ras', (dir) => {
    const pcap = makePcap(dir, [{ bytes: far.raw[0]! }], 'udp', 1719);
    t.equal(problems(pcap), '', 'tshark finds nothing malformed in the RRJ');
    const [p] = dissect(pcap);
    t.equal(fieldValues(p!.h225, 'h225.altGKisPermanent').length, 1, 'altGKInfo present');
    t.same(fieldValues(p!.h225, 'h225.ipV4'), ['127.0.61.4', '127.0.61.4']);
  });
});

t.test('an unregistered ARQ of a class taken by redirect gets ARJ with altGKInfo', async (t) => {
  await worker(t, 'techniques: { default: redirect }');
  const far = await endpoint(t, '127.0.61.42');
  far.send(arq(1, 'unknown', '8001'), RAS, GK);
  t.match(summarizeRas(await far.reply(1)), { ras: 'ARJ', rejectReason: 'callerNotRegistered', alternateGatekeepers: ALTERNATES });
  const near = await endpoint(t, '127.0.61.53');
  near.send(arq(2, 'unknown', '8001'), RAS, GK);
  const plain = summarizeRas(await near.reply(2));
  t.match(plain, { ras: 'ARJ', rejectReason: 'callerNotRegistered' });
  t.notOk(plain.alternateGatekeepers, 'its POP is this one: nothing to point at');
});

t.test('RAS from layer 1: PROXY v2 per datagram, replies to the datagram\'s source; bad datagrams are counted', async (t) => {
  await worker(t);
  const flow = await endpoint(t, '127.0.61.60');
  const header = encodeProxyV2({ transport: 'udp', srcAddress: '203.0.113.5', srcPort: 1719, dstAddress: WK, dstPort: 1719 });
  const et = endpointType(IDENTITIES.cisco);
  const grq = encodeRas(buildGrq({ requestSeqNum: 1, rasAddress: transportAddress('203.0.113.5', 1719), endpointType: et }));
  flow.send(Buffer.concat([header, grq]), 11719, GK);
  t.match(summarizeRas(await flow.reply(1)), { ras: 'GCF', rasAddress: `${WK}:1719` }, 'the address the endpoint sent to');
  flow.send(Buffer.concat([header, encodeRas(rrq(2, flow, '203.0.113.5', IDENTITIES.cisco))]), 11719, GK);
  t.match(summarizeRas(await flow.reply(2)), { ras: 'RCF', callSignalAddress: [`${WK}:1720`] }, 'calls come to the well-known address');
  flow.send(Buffer.from('GRQ please'), 11719, GK);
  flow.send(Buffer.concat([header, Buffer.from('ff00ff', 'hex')]), 11719, GK);
  flow.send(Buffer.from('0400', 'hex'), RAS, GK);
  await waitFor('counted', async () => metric(await metrics(), 'vcp_h323_ras_dropped_total', { reason: 'malformed' }) === 2);
  t.equal(metric(await metrics(), 'vcp_h323_ras_dropped_total', { reason: 'proxy_header' }), 1);
  t.equal(flow.replies.length, 2, 'nothing answered the bad datagrams');
});
