import t, { type Test } from 'tap';
import fc from 'fast-check';
import { buildSetup, buildFacilityForward, buildConnect, buildReleaseFor } from '../../../layer2/h323/builder.js';
import { encodeH323, decodeH323, bodyOf, type H323Message } from '../../../layer2/h323/message.js';
import { tpkt } from '../../../layer2/h323/tpkt.js';
import { dialledDigits, emailId, guidToString, h323Id, transportAddress, urlId, type AliasAddress } from '../../../layer2/h323/h225.js';
import { decodeRas, rasSeqNum } from '../../../layer2/h323/ras.js';
import { summarizeCall } from '../../../layer2/h323/summary.js';
import { dissect, fieldValues, makePcap, problems, withTempDir, type Frame } from '../../helpers/tshark.js';
import { hexFixture, vectors } from '../../helpers/h323-fixtures.js';

/**
 * Wireshark's H.225.0 dissector (tshark) is the oracle for our encoder: every frame must decode
 * without malformed or warning expert info, and the fields tshark reads must be the ones we meant.
 */

const BODY_INDEX: Record<string, string> = { setup: '0', callProceeding: '1', connect: '2', alerting: '3', information: '4', releaseComplete: '5', facility: '6', progress: '7', empty: '8', status: '9', notify: '12' };

/** What tshark must show for one call signalling message, from our own summary of it. */
function expectCall(t: Test, layers: Record<string, unknown>, m: H323Message, name: string, exactAliases = true): void {
  const s = summarizeCall(m);
  const q931 = layers.q931;
  const h225 = layers.h225;
  t.same(fieldValues(q931, 'q931.message_type'), [`0x${m.q931.type.toString(16).padStart(2, '0')}`], `${name}: message type`);
  t.same(fieldValues(q931, 'q931.call_ref_flag'), [m.q931.fromDestination ? '1' : '0'], `${name}: call reference flag`);
  const body = bodyOf(m);
  if (!body) return;
  t.same(fieldValues(h225, 'h225.h323_message_body'), [BODY_INDEX[body.choice]], `${name}: body ${body.choice}`);
  if (s.callIdentifier) t.same(fieldValues(h225, 'h225.guid'), [s.callIdentifier], `${name}: call identifier`);
  if (s.conferenceID) t.ok(fieldValues(h225, 'h225.conferenceID').includes(s.conferenceID), `${name}: conference identifier`);
  if (s.vendor) {
    t.same(fieldValues(h225, 'h225.t35CountryCode'), [String(s.vendor.country)], `${name}: t35CountryCode`);
    t.same(fieldValues(h225, 'h225.t35Extension'), [String(s.vendor.extension)], `${name}: t35Extension`);
    t.same(fieldValues(h225, 'h225.manufacturerCode'), [String(s.vendor.manufacturer)], `${name}: manufacturerCode`);
    if (s.vendor.productId) t.same(fieldValues(h225, 'h225.productId').map(stripNul), [s.vendor.productId], `${name}: productId`);
    if (s.vendor.versionId) t.same(fieldValues(h225, 'h225.versionId').map(stripNul), [s.vendor.versionId], `${name}: versionId`);
  }
  const aliases = [...(s.sourceAliases ?? []), ...(s.destinationAliases ?? []), ...(s.alternativeAliases ?? [])];
  for (const kind of ['h323-ID', 'dialledDigits', 'url-ID', 'email-ID']) {
    const want = aliases.filter((a) => a.type === kind).map((a) => a.value);
    const got = fieldValues(h225, `h225.${kind.replace('-', '_')}`);
    if (exactAliases) t.same(got.sort(), want.sort(), `${name}: ${kind} aliases`);
    else t.ok(want.every((w) => got.includes(w)), `${name}: ${kind} aliases (tokens and other fields may hold more)`);
  }
  if (s.facilityReason) t.same(fieldValues(h225, 'h225.reason'), ['1'], `${name}: FacilityReason callForwarded`);
  if (s.alternativeAddress) {
    const [ip, port] = s.alternativeAddress.split(':');
    t.ok(fieldValues(h225, 'h225.ipV4').includes(ip!), `${name}: alternativeAddress ip`);
    t.ok(fieldValues(h225, 'h225.ipV4_port').includes(port!), `${name}: alternativeAddress port`);
  }
}

const stripNul = (s: string): string => s.replace(/(\\0|\u0000| )+$/, '');

t.test('call vectors, the hand-assembled v1 Setup and the builders, dissected by tshark', async (t) => {
  const msgs: Array<[string, Buffer]> = [...vectors('calls.txt'), ['intel-setup-v1', hexFixture('intel-setup-v1.hex')]];
  withTempDir('oracle', (dir) => {
    const pcap = makePcap(dir, msgs.map(([, b]) => ({ bytes: tpkt(b) })), 'tcp', 1720);
    t.equal(problems(pcap), '', 'no malformed or warning expert info');
    const packets = dissect(pcap);
    t.equal(packets.length, msgs.length);
    msgs.forEach(([name, b], i) => expectCall(t, packets[i]!, decodeH323(b, { strict: true }), name, false));
  });
});

const printable = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._()/-]{0,30}[A-Za-z0-9]$/);
const arbAlias: fc.Arbitrary<AliasAddress> = fc.oneof(
  fc.stringMatching(/^[0-9#*]{1,20}$/).map(dialledDigits),
  fc.stringMatching(/^[A-Za-z0-9 ÀÉéèüß.-]{1,40}$/).map(h323Id),
  fc.stringMatching(/^h323:[a-z0-9]{1,12}@[a-z]{1,10}\.example$/).map(urlId),
  fc.stringMatching(/^[a-z0-9.]{1,12}@[a-z]{1,10}\.example$/).map(emailId),
);
const arbSetup = fc.record({
  callReference: fc.integer({ min: 0, max: 0x7fff }),
  t35CountryCode: fc.integer({ min: 0, max: 255 }),
  t35Extension: fc.integer({ min: 0, max: 255 }),
  manufacturerCode: fc.integer({ min: 0, max: 65535 }),
  productId: fc.option(printable, { nil: undefined }),
  versionId: fc.option(printable, { nil: undefined }),
  src: fc.array(arbAlias, { maxLength: 3 }),
  dst: fc.array(arbAlias, { minLength: 1, maxLength: 3 }),
  guid: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  ip: fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((a) => a.join('.')),
  port: fc.integer({ min: 1, max: 65535 }),
  version: fc.integer({ min: 2, max: 7 }),
});

t.test('generated Setups, Connects, Facility forwards and Release Completes agree with tshark', async (t) => {
  const samples = fc.sample(arbSetup, { numRuns: 40, seed: 4242 });
  const msgs: H323Message[] = [];
  for (const x of samples) {
    const setup = buildSetup({
      callReference: x.callReference,
      callIdentifier: Buffer.from(x.guid),
      identity: { t35CountryCode: x.t35CountryCode, t35Extension: x.t35Extension, manufacturerCode: x.manufacturerCode, productId: x.productId, versionId: x.versionId },
      sourceAliases: x.src,
      destinationAliases: x.dst,
      destCallSignalAddress: transportAddress(x.ip, x.port),
      version: x.version,
    });
    msgs.push(setup, buildConnect(setup, { h245Address: transportAddress(x.ip, x.port) }), buildFacilityForward(setup, transportAddress(x.ip, x.port)), buildReleaseFor(setup, 'undefinedReason'));
  }
  withTempDir('oracle', (dir) => {
    const pcap = makePcap(dir, msgs.map((m): Frame => ({ bytes: tpkt(encodeH323(m)) })), 'tcp', 1720);
    t.equal(problems(pcap), '', 'no malformed or warning expert info');
    const packets = dissect(pcap);
    t.equal(packets.length, msgs.length);
    msgs.forEach((m, i) => expectCall(t, packets[i]!, m, `#${i}`));
  });
});

t.test('RAS vectors over UDP 1719', async (t) => {
  const list = [...vectors('ras.txt')];
  const CHOICE: Record<string, string> = { grq: '0', gcf: '1', grj: '2', rrq: '3', rcf: '4', rrj: '5', urq: '6', ucf: '7', arq: '9', acf: '10', arj: '11', drq: '15', dcf: '16', lrq: '18', lcf: '19', lrj: '20' };
  withTempDir('oracle', (dir) => {
    const pcap = makePcap(dir, list.map(([, b]) => ({ bytes: b })), 'udp', 1719);
    t.equal(problems(pcap), '', 'no malformed or warning expert info');
    const packets = dissect(pcap);
    list.forEach(([name, b], i) => {
      const h225 = packets[i]!.h225;
      const m = decodeRas(b, { strict: true });
      t.same(fieldValues(h225, 'h225.RasMessage'), [CHOICE[name]], `${name}: RasMessage choice`);
      t.same(fieldValues(h225, 'h225.requestSeqNum'), [String(rasSeqNum(m))], `${name}: requestSeqNum`);
      if (['gcf', 'rcf', 'grj', 'rrj', 'arj', 'lrj'].includes(name)) {
        const ips = fieldValues(h225, 'h225.ipV4');
        t.ok(ips.includes('192.0.2.10') && ips.includes('198.51.100.10'), `${name}: alternate gatekeepers`);
        t.ok(fieldValues(h225, 'h225.gatekeeperIdentifier').length >= (name === 'arj' || name === 'lrj' || name === 'rrj' ? 1 : 2), `${name}: gatekeeper identifiers`);
      }
      if (['grj', 'rrj', 'arj', 'lrj'].includes(name)) t.equal(fieldValues(h225, 'h225.altGKisPermanent').length, 1, `${name}: altGKInfo`);
    });
  });
});

t.test('the Intel vector seen by tshark: identity fields', async (t) => {
  withTempDir('oracle', (dir) => {
    const pcap = makePcap(dir, [{ bytes: tpkt(hexFixture('intel-setup-v1.hex')) }], 'tcp', 1720);
    const h225 = dissect(pcap)[0]!.h225;
    t.same(fieldValues(h225, 'h225.t35CountryCode'), ['181']);
    t.same(fieldValues(h225, 'h225.manufacturerCode'), ['32896']);
    t.same(fieldValues(h225, 'h225.productId').map(stripNul), ['Intel Internet Phone']);
    t.same(fieldValues(h225, 'h225.protocolIdentifier'), ['0.0.8.2250.0.1']);
    t.same(guidToString(Buffer.alloc(16)), '00000000-0000-0000-0000-000000000000');
  });
});
