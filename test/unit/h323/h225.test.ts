import t from 'tap';
import { perDecode, perEncode } from '../../../layer2/h323/per/codec.js';
import { EndpointType as EndpointTypeAsn } from '../../../layer2/h323/asn/h225-common.js';
import { decodeH323, encodeH323, bodyOf, type H323Message } from '../../../layer2/h323/message.js';
import {
  aliasToText,
  callIdentifierOf,
  dialledDigits,
  guidFromString,
  guidToString,
  h323Id,
  protocolVersion,
  transportAddress,
  transportToString,
  urlId,
  type EndpointType,
  type SetupUUIE,
  type FacilityUUIE,
} from '../../../layer2/h323/h225.js';
import {
  buildAlerting,
  buildCallProceeding,
  buildConnect,
  buildFacilityForward,
  buildReleaseFor,
  buildSetup,
  dialledAlias,
  setupOf,
} from '../../../layer2/h323/builder.js';
import { identifyH323, vendorSummary, octetText, lookupT35, T35_TABLE } from '../../../layer2/h323/vendor.js';
import { classChain } from '../../../layer2/identify.js';
import { summarizeCall, summarizeRas, callerHints } from '../../../layer2/h323/summary.js';
import { decodeRas, encodeRas, rasSeqNum, buildGcf, buildRcf } from '../../../layer2/h323/ras.js';
import { findIe, Ie, MsgType } from '../../../layer2/h323/q931.js';
import { throwsWith } from '../../helpers/assert.js';
import { hex } from '../../helpers/bits.js';
import { hexFixture, vectors } from '../../helpers/h323-fixtures.js';

const calls = vectors('calls.txt');
const ras = vectors('ras.txt');
const call = (name: string): H323Message => decodeH323(calls.get(name)!, { strict: true });
const setup = (name: string): SetupUUIE => setupOf(call(name))!;

t.test('the Intel Internet Phone EndpointType vector', async (t) => {
  const b = hexFixture('intel-endpoint-type.hex');
  const e = perDecode(EndpointTypeAsn, b, { strict: true }) as EndpointType;
  t.same(e.vendor?.vendor, { t35CountryCode: 181, t35Extension: 0, manufacturerCode: 0x8080 });
  t.equal(e.vendor?.productId?.length, 21);
  t.equal(e.vendor?.versionId?.length, 4);
  t.same(e.terminal, {});
  t.same([e.mc, e.undefinedNode, e.gateway, e.mcu], [false, false, undefined, undefined]);
  t.same(vendorSummary(e.vendor!), { country: 181, extension: 0, manufacturer: 32896, manufacturerName: 'unknown vendor', productId: 'Intel Internet Phone', versionId: '1.0' });
  t.same(perEncode(EndpointTypeAsn, e), b, 're-encodes byte for byte');
});

t.test('a hand-assembled version 1 Setup around the Intel vector', async (t) => {
  const b = hexFixture('intel-setup-v1.hex');
  const m = decodeH323(b, { strict: true });
  t.equal(m.q931.type, MsgType.Setup);
  t.equal(m.q931.callReference, 0x42);
  const s = setupOf(m)!;
  t.equal(protocolVersion(s.protocolIdentifier), 1);
  t.same(s.sourceAddress, [h323Id('Intel')]);
  t.same(s.destinationAddress, [dialledDigits('8001')]);
  t.equal(s.callIdentifier, undefined, 'version 1 has no call identifier');
  t.equal(callIdentifierOf(bodyOf(m)), undefined);
  t.same(identifyH323(s.sourceInfo.vendor), { protocol: 'h323', vendor: 'T.35 181/0/32896', product: 'Intel Internet Phone', version: '1.0' });
  t.same(encodeH323(m), b, 'our encoder produces the hand-assembled bytes');
  const sum = summarizeCall(m);
  t.match(sum, { message: 'Setup', body: 'setup', protocolVersion: 1, calledNumber: '8001', sourceAliases: [{ type: 'h323-ID', value: 'Intel' }] });
});

t.test('every call vector decodes strictly and re-encodes to the same bytes', async (t) => {
  for (const [name, b] of calls) t.same(encodeH323(decodeH323(b, { strict: true })), b, name);
  for (const [name, b] of ras) t.same(encodeRas(decodeRas(b, { strict: true })), b, name);
});

t.test('vendor identity of the device shapes → classification chain', async (t) => {
  const id = (name: string) => identifyH323(setup(name).sourceInfo.vendor);
  t.same(id('cisco-ios-setup'), { protocol: 'h323', vendor: 'Cisco', product: '', version: '' }, 'Cisco IOS sends no productId');
  t.same(classChain(id('cisco-ios-setup')).map((c) => c.key), ['h323/cisco', 'h323', 'default']);
  t.same(id('polycom-setup'), { protocol: 'h323', vendor: 'Polycom', product: 'Polycom HDX 8000 HD', version: 'Release 3.1.2-12345' });
  t.same(classChain(id('polycom-setup')).map((c) => c.level), ['version', 'product', 'vendor', 'protocol', 'default']);
  t.same(id('tandberg-setup'), { protocol: 'h323', vendor: 'Cisco', product: 'Tandberg', version: '257' });
  t.same(id('sony-setup'), { protocol: 'h323', vendor: 'Sony', product: 'PCS-XG80', version: '2.41.00' }, 'trailing NULs stripped');
  t.same(id('lifesize-setup-tokens').vendor, 'LifeSize');
  t.same(id('unknown-vendor-setup'), { protocol: 'h323', vendor: 'T.35 181/0/4242', product: 'FooPhone', version: '1.0' });
  t.same(identifyH323(setup('no-vendor-setup').sourceInfo.vendor), { protocol: 'h323', vendor: '', product: '', version: '' });
  t.same(classChain(identifyH323(undefined)).map((c) => c.key), ['h323', 'default']);
  t.equal(vendorSummary(setup('tandberg-setup').sourceInfo.vendor!).manufacturerName, 'Tandberg');
  t.equal(lookupT35(130, 1, 256, 'Other')?.name, undefined, 'the Tandberg triple needs its productId');
  t.equal(lookupT35(0, 11, 11520, '')?.vendor, 'Sony');
  t.equal(lookupT35(180, 0, 49152, '')?.vendor, 'Cisco', 'Codian');
  t.equal(lookupT35(9, 0, 61, 'x')?.name, 'OpenH323');
  t.ok(T35_TABLE.length >= 15);
  t.equal(octetText(hex('48 44 58 00 00 20')), 'HDX');
  t.equal(octetText(hex('c9 74 e9')), 'Été', 'not UTF-8: Latin-1');
  t.equal(octetText(undefined), '');
});

t.test('summaries and caller hints for identification', async (t) => {
  const p = summarizeCall(call('polycom-setup'));
  t.match(p, {
    message: 'Setup',
    callReference: 200,
    fromDestination: false,
    body: 'setup',
    protocolVersion: 6,
    callIdentifier: guidToString(setup('polycom-setup').callIdentifier!.guid),
    sourceAliases: [
      { type: 'h323-ID', value: 'Room A' },
      { type: 'dialledDigits', value: '5551234' },
    ],
    destinationAliases: [
      { type: 'url-ID', value: 'h323:meeting@example.com' },
      { type: 'email-ID', value: 'meeting@example.com' },
    ],
    vendor: { country: 181, extension: 0, manufacturer: 20560, manufacturerName: 'Polycom', productId: 'Polycom HDX 8000 HD', versionId: 'Release 3.1.2-12345' },
    display: 'Room A',
    destCallSignalAddress: '192.0.2.1:1720',
    h245Address: '10.1.1.2:5000',
    h245Tunnelling: false,
  });
  t.match(summarizeCall(call('cisco-ios-setup')), { calledNumber: '8001', callingNumber: '4085551000', fastStart: 1, sourceCallSignalAddress: '10.1.1.1:1720' });
  t.match(summarizeCall(call('release-complete')), { message: 'ReleaseComplete', fromDestination: true, cause: 16, releaseReason: 'undefinedReason' });
  t.match(summarizeCall(call('connect')), { message: 'Connect', vendor: { manufacturerName: 'Codian' }, h245Address: '192.0.2.1:30000' });
  t.match(summarizeCall(call('facility-empty')), { message: 'Facility', body: 'empty' });
  t.match(summarizeCall(call('lifesize-setup-tokens')).sourceAliases, [{ type: 'h323-ID' }, { type: 'partyNumber', value: '4420790000' }]);
  t.same(callerHints(call('polycom-setup')).display, 'Room A');
  t.same(callerHints(call('cisco-ios-setup')), { sourceAliases: [], destinationAliases: [{ type: 'dialledDigits', value: '8001' }], callingNumber: '4085551000', calledNumber: '8001' });
  const broken = call('polycom-setup');
  broken.q931.ies.push({ id: Ie.CallingPartyNumber, data: Buffer.alloc(0) });
  t.equal(summarizeCall(broken).callingNumber, undefined, 'an unreadable IE is left out of the summary');
});

t.test('the tokens vector: H.235 ClearToken and CryptoH323Token decode to fields', async (t) => {
  const s = setup('lifesize-setup-tokens');
  t.match(s.tokens, [{ tokenOID: '0.0.8.235.0.2.5', timeStamp: 1700000000, generalID: 'gk.example' }]);
  t.match(s.cryptoTokens, [{ choice: 'cryptoEPPwdHash', value: { alias: { choice: 'h323-ID', value: 'LS 220' }, token: { algorithmOID: '1.2.840.113549.2.5', hash: { bits: 128 } } } }]);
  t.match(s.supportedFeatures, [{ id: { choice: 'standard', value: 18 } }]);
  t.same(s.language, ['en']);
});

t.test('replies carry the call reference flag, call identifier and conference identifier', async (t) => {
  const sm = buildSetup({ callReference: 77, identity: { t35CountryCode: 181, t35Extension: 0, manufacturerCode: 18 }, destinationAliases: [h323Id('room')] });
  const s = setupOf(sm)!;
  for (const [name, r] of [
    ['callProceeding', buildCallProceeding(sm)],
    ['alerting', buildAlerting(sm)],
    ['connect', buildConnect(sm)],
    ['releaseComplete', buildReleaseFor(sm, 'destinationRejection', 21)],
  ] as const) {
    const back = decodeH323(encodeH323(r), { strict: true });
    t.equal(back.q931.callReference, 77, name);
    t.equal(back.q931.fromDestination, true, `${name}: from the destination side`);
    t.equal(bodyOf(back)?.choice, name);
    t.same(callIdentifierOf(bodyOf(back)), s.callIdentifier!.guid, `${name}: same call identifier`);
  }
  const c = decodeH323(encodeH323(buildConnect(sm)));
  t.same((bodyOf(c)!.value as { conferenceID: Buffer }).conferenceID, s.conferenceID);
  t.equal(summarizeCall(decodeH323(encodeH323(buildReleaseFor(sm, 'destinationRejection', 21)))).cause, 21);
});

t.test('Facility callForwarded built from a Setup', async (t) => {
  const sm = call('tandberg-setup');
  const target = transportAddress('192.0.2.7', 1720);
  const f = decodeH323(encodeH323(buildFacilityForward(sm, target)), { strict: true });
  t.equal(f.q931.type, MsgType.Facility);
  t.equal(f.q931.callReference, sm.q931.callReference);
  t.equal(f.q931.fromDestination, true);
  t.ok(findIe(f.q931, Ie.Facility), 'carries the (empty) Facility IE Q.931 requires');
  const v = bodyOf(f)!.value as FacilityUUIE;
  t.same(v.reason, { choice: 'callForwarded', value: null });
  t.equal(transportToString(v.alternativeAddress), '192.0.2.7:1720');
  t.same(v.alternativeAliasAddress, [dialledDigits('8002')], 'the E.164 alias the caller dialled');
  t.same(v.callIdentifier?.guid, setupOf(sm)!.callIdentifier!.guid);
  t.same(v.conferenceID, setupOf(sm)!.conferenceID);
  t.same(dialledAlias(call('polycom-setup')), urlId('h323:meeting@example.com'), 'no digits: the first destination alias');
  const onlyCalled = buildSetup({ callReference: 1, calledNumber: '4711' });
  t.same(dialledAlias(onlyCalled), dialledDigits('4711'), 'digits from the Called party number IE');
  t.equal(dialledAlias(buildSetup({ callReference: 1 })), undefined);
  const withAlias = decodeH323(encodeH323(buildFacilityForward(sm, target, { alias: h323Id('x') })));
  t.same((bodyOf(withAlias)!.value as FacilityUUIE).alternativeAliasAddress, [h323Id('x')]);
  t.match(summarizeCall(f), { facilityReason: 'callForwarded', alternativeAddress: '192.0.2.7:1720', alternativeAliases: [{ type: 'dialledDigits', value: '8002' }] });
});

t.test('addresses, aliases and identifiers', async (t) => {
  t.equal(transportToString(transportAddress('2001:db8::1', 1720)), '[2001:db8::1]:1720');
  t.equal(transportToString(transportAddress('::', 1)), '[::]:1');
  t.equal(transportToString(transportAddress('1:2:3:4:5:6:7:8', 1)), '[1:2:3:4:5:6:7:8]:1');
  t.equal(transportToString(transportAddress('::ffff:10.0.0.1', 1)), '[::ffff:10.0.0.1]:1');
  t.equal(transportToString({ choice: 'netBios', value: Buffer.alloc(16) }), undefined);
  throwsWith(t, () => transportAddress('not-an-ip', 1), { code: 'VCP_ERR_H323_PER_ENCODE' });
  t.same(aliasToText({ choice: 'transportID', value: transportAddress('10.0.0.1', 1720) }), { type: 'transportID', value: '10.0.0.1:1720' });
  t.same(aliasToText({ choice: '_unknown', index: 9, value: hex('01') }), { type: 'extension 9', value: '01' });
  t.same(aliasToText({ choice: 'mobileUIM', value: {} }), { type: 'mobileUIM', value: '' });
  const g = '00112233-4455-6677-8899-aabbccddeeff';
  t.equal(guidToString(guidFromString(g)), g);
  throwsWith(t, () => guidFromString('xyz'), { code: 'VCP_ERR_H323_PER_ENCODE' });
  t.equal(protocolVersion('1.2.3'), 0);
});

t.test('RAS vectors: sequence numbers, alternate gatekeepers, summaries', async (t) => {
  const gcf = decodeRas(ras.get('gcf')!, { strict: true });
  t.equal(rasSeqNum(gcf), 7);
  t.match(summarizeRas(gcf), { ras: 'GCF', requestSeqNum: 7, rasAddress: '192.0.2.1:1719', gatekeeperIdentifier: 'POP-A', alternateGatekeepers: ['192.0.2.10:1719', '198.51.100.10:1719'] });
  t.match(summarizeRas(decodeRas(ras.get('rrj')!)), { ras: 'RRJ', rejectReason: 'resourceUnavailable', alternateGatekeepers: ['192.0.2.10:1719', '198.51.100.10:1719'] });
  t.match(summarizeRas(decodeRas(ras.get('rrq')!)), {
    ras: 'RRQ',
    aliases: [
      { type: 'h323-ID', value: 'room-a' },
      { type: 'dialledDigits', value: '5551234' },
    ],
    vendor: { manufacturerName: 'Polycom', productId: 'Polycom HDX 8000 HD' },
    callSignalAddress: ['10.1.1.2:1720'],
  });
  t.match(summarizeRas(decodeRas(ras.get('grq')!)), { ras: 'GRQ', vendor: { manufacturerName: 'Polycom' }, rasAddress: '10.1.1.2:1719' });
  t.match(summarizeRas(decodeRas(ras.get('arq')!)), { ras: 'ARQ', destinationAliases: [{ type: 'dialledDigits', value: '8001' }], callIdentifier: /^[0-9a-f-]{36}$/ });
  t.match(summarizeRas(decodeRas(ras.get('acf')!)), { ras: 'ACF', destCallSignalAddress: '192.0.2.7:1720' });
  t.match(summarizeRas(decodeRas(ras.get('rcf')!)), { ras: 'RCF', endpointIdentifier: 'EP-1', timeToLive: undefined });
  t.match(summarizeRas({ choice: '_unknown', index: 12, value: hex('00') }), { ras: 'extension 12' });
  const seq = { choice: 'admissionConfirmSequence', value: [] };
  t.same(summarizeRas(seq), { ras: 'ACFS', message: 'admissionConfirmSequence' });
  const grq = decodeRas(ras.get('grq')!);
  t.equal(rasSeqNum(decodeRas(encodeRas(buildGcf(grq, { rasAddress: transportAddress('10.0.0.1', 1719) })))), 7);
  t.equal(rasSeqNum(decodeRas(encodeRas(buildRcf(grq, { endpointIdentifier: 'e', callSignalAddress: [] })))), 7);
  throwsWith(t, () => decodeRas(hex('ff')), { code: 'VCP_ERR_H323_PER_TRUNCATED' });
});

t.test('User-user errors: missing, wrong discriminator, PER failure', async (t) => {
  const noUu = decodeH323(hex('08 02 00 01 5a 08 02 80 90'));
  t.equal(noUu.uu, undefined);
  t.equal(bodyOf(noUu), undefined);
  t.same(encodeH323(noUu), hex('08 02 00 01 5a 08 02 80 90'));
  t.match(summarizeCall(noUu), { message: 'ReleaseComplete', cause: 16 });
  throwsWith(t, () => decodeH323(hex('08 02 00 01 05 7e 00 02 04 00')), { code: 'VCP_ERR_H323_USER_USER' });
  throwsWith(t, () => decodeH323(hex('08 02 00 01 05 7e 00 01 05')), { code: 'VCP_ERR_H323_USER_USER' });
  throwsWith(t, () => decodeH323(hex('08 02 00 01 05 7e 00 02 05 20')), { code: 'VCP_ERR_H323_PER_TRUNCATED' });
  const withTail = Buffer.concat([calls.get('alerting')!, hex('')]);
  const m = decodeH323(withTail);
  const uu = findIe(m.q931, Ie.UserUser)!.data;
  const padded = Buffer.concat([hex('08 02 80 c8 01 7e'), Buffer.from([0, uu.length + 2]), uu, hex('0000')]);
  const p = decodeH323(padded);
  t.same(p.uuTrailing, hex('0000'), 'octets after the PER value are kept');
  t.same(encodeH323(p), padded);
});
