import { buildAlerting, buildCallProceeding, buildConnect, buildFacilityForward, buildReleaseFor, buildSetup, endpointType, type Identity } from '../../layer2/h323/builder.js';
import { dialledDigits, emailId, h323Id, transportAddress, urlId, type AliasAddress } from '../../layer2/h323/h225.js';
import type { H323Message } from '../../layer2/h323/message.js';
import type { PerObject } from '../../layer2/h323/per/types.js';
import * as ras from '../../layer2/h323/ras.js';
import { Bits } from './bits.js';

/**
 * The inputs behind test/fixtures/h323/: device shapes built with the production builders (the
 * fixtures pin their output, and tshark checks it), and the Intel version 1 Setup assembled bit by
 * bit without them. `VCP_REGENERATE_FIXTURES=1 npx tap test/unit/h323/vectors.test.ts` rewrites the files.
 */

/** Deterministic 16-octet identifiers. */
export const guid = (n: number): Buffer => Buffer.from(Array.from({ length: 16 }, (_, i) => (n * 16 + i * 7) & 0xff));

/** A minimal H.245 OpenLogicalChannel (channel 1, nullData, multiplex 'none') for fastStart. */
export const OLC = Buffer.from('00000006040100', 'hex');
/** A minimal H.245 endSessionCommand (disconnect) for h245Control. */
export const END_SESSION = Buffer.from('4a40', 'hex');

export const IDENTITIES: Record<string, Identity> = {
  cisco: { t35CountryCode: 181, t35Extension: 0, manufacturerCode: 18 },
  polycom: { t35CountryCode: 181, t35Extension: 0, manufacturerCode: 20560, productId: 'Polycom HDX 8000 HD', versionId: 'Release 3.1.2-12345' },
  tandberg: { t35CountryCode: 130, t35Extension: 1, manufacturerCode: 256, productId: 'Tandberg', versionId: '257' },
  sony: { t35CountryCode: 0, t35Extension: 11, manufacturerCode: 11520, productId: 'PCS-XG80', versionId: '2.41.00\0\0' },
  lifesize: { t35CountryCode: 181, t35Extension: 0, manufacturerCode: 41242, productId: 'LifeSize Room 220', versionId: 'LS_RM2_4.7.18' },
  unknown: { t35CountryCode: 181, t35Extension: 0, manufacturerCode: 4242, productId: 'FooPhone', versionId: '1.0' },
  codian: { t35CountryCode: 180, t35Extension: 0, manufacturerCode: 49152, productId: 'Codian MCU 4505', versionId: '4.5(1.45)' },
};

/** The Intel Internet Phone EndpointType (published vector) plus the terminal, mc and undefinedNode bits. */
export function intelEndpointType(): Buffer {
  return Buffer.concat([Buffer.from('22c0b5008080', 'hex'), Buffer.from([20]), Buffer.from('Intel Internet Phone\0'), Buffer.from([3]), Buffer.from('1.0\0'), Buffer.from([0])]);
}

/** A version 1 Setup around the Intel vector, assembled by hand (X.691 working in the comments). */
export function intelSetupV1(): Buffer {
  const et = intelEndpointType();
  const bmp = (s: string): Buffer => Buffer.from([...s].flatMap((c) => [0, c.charCodeAt(0)]));
  const uu = new Bits()
    .b('0 0') // H323-UserInformation: extension bit, user-data absent
    .b('0 0') // H323-UU-PDU: extension bit, nonStandardData absent
    .b('0 000') // h323-message-body: root, index 0 of 7 (setup)
    .b('0') // Setup-UUIE extension bit
    .b('0110000') // optionals: h245Address, sourceAddress ✓, destinationAddress ✓, destCallSignalAddress, destExtraCallInfo, destExtraCRV, callServices
    .align()
    .hex('06 0008914a0001') // protocolIdentifier 0.0.8.2250.0.1
    .hex('01') // sourceAddress: 1 item
    .b('0 1') // AliasAddress root, index 1 (h323-ID)
    .align()
    .u(4, 8) // BMPString (1..256): n−1
    .hex(bmp('Intel'))
    .hex(et.subarray(0, et.length - 1)) // sourceInfo as published…
    .b('0000') // …then TerminalInfo extension bit and bitmap, mc, undefinedNode
    .align()
    .hex('01') // destinationAddress: 1 item
    .b('0 0') // AliasAddress root, index 0 (dialledDigits)
    .u(3, 7) // IA5String (1..128): n−1 in 7 bits
    .align()
    .u(11, 4) // '8' is index 11 in "#*,0123456789"
    .u(3, 4)
    .u(3, 4)
    .u(4, 4)
    .b('0') // activeMC
    .align()
    .hex(guid(9)) // conferenceID
    .b('0 00') // conferenceGoal: create
    .b('0 00') // callType: pointToPoint
    .buffer();
  const q931 = Buffer.from('08 02 0042 05 04 03 8890a5 70 05 81 38303031 7e'.replace(/ /g, ''), 'hex');
  return Buffer.concat([q931, Buffer.from([(uu.length + 1) >> 8, (uu.length + 1) & 0xff, 0x05]), uu]);
}

export function callVectors(): Map<string, H323Message> {
  const v = new Map<string, H323Message>();
  const src: AliasAddress[] = [h323Id('Room A'), dialledDigits('5551234')];
  v.set(
    'cisco-ios-setup',
    buildSetup({ callReference: 100, callIdentifier: guid(1), conferenceID: guid(2), identity: IDENTITIES.cisco, kind: 'gateway', destinationAliases: [dialledDigits('8001')], calledNumber: '8001', callingNumber: '4085551000', fastStart: [OLC], sourceCallSignalAddress: transportAddress('10.1.1.1', 1720) }),
  );
  const poly = buildSetup({
    callReference: 200,
    callIdentifier: guid(3),
    conferenceID: guid(4),
    identity: IDENTITIES.polycom,
    sourceAliases: src,
    destinationAliases: [urlId('h323:meeting@example.com'), emailId('meeting@example.com')],
    display: 'Room A',
    destCallSignalAddress: transportAddress('192.0.2.1', 1720),
    h245Address: transportAddress('10.1.1.2', 5000),
    h245Tunnelling: false,
    version: 6,
  });
  v.set('polycom-setup', poly);
  const tandberg = buildSetup({ callReference: 300, callIdentifier: guid(5), conferenceID: guid(6), identity: IDENTITIES.tandberg, sourceAliases: [h323Id('tandberg-mxp')], destinationAliases: [dialledDigits('8002')], calledNumber: '8002' });
  v.set('tandberg-setup', tandberg);
  v.set('sony-setup', buildSetup({ callReference: 301, callIdentifier: guid(7), conferenceID: guid(8), identity: IDENTITIES.sony, destinationAliases: [dialledDigits('8003')] }));
  const ls = buildSetup({
    callReference: 302,
    callIdentifier: guid(10),
    conferenceID: guid(11),
    identity: IDENTITIES.lifesize,
    sourceAliases: [h323Id('LS 220'), { choice: 'partyNumber', value: { choice: 'e164Number', value: { publicTypeOfNumber: { choice: 'internationalNumber', value: null }, publicNumberDigits: '4420790000' } } }],
    destinationAliases: [dialledDigits('8004')],
  });
  const lsSetup = ls.uu!['h323-uu-pdu']['h323-message-body'].value as PerObject;
  lsSetup.tokens = [{ tokenOID: '0.0.8.235.0.2.5', timeStamp: 1700000000, generalID: 'gk.example' }];
  lsSetup.cryptoTokens = [{ choice: 'cryptoEPPwdHash', value: { alias: h323Id('LS 220'), timeStamp: 1700000000, token: { algorithmOID: '1.2.840.113549.2.5', paramS: {}, hash: { bits: 128, data: guid(12) } } } }];
  lsSetup.supportedFeatures = [{ id: { choice: 'standard', value: 18 } }];
  lsSetup.language = ['en'];
  lsSetup.displayName = [{ name: 'LifeSize Room' }];
  v.set('lifesize-setup-tokens', ls);
  v.set('unknown-vendor-setup', buildSetup({ callReference: 303, callIdentifier: guid(13), conferenceID: guid(14), identity: IDENTITIES.unknown, destinationAliases: [h323Id('room')] }));
  v.set('no-vendor-setup', buildSetup({ callReference: 304, callIdentifier: guid(15), conferenceID: guid(16), destinationAliases: [dialledDigits('8005')], calledNumber: '8005' }));
  const mcu = { identity: IDENTITIES.codian, kind: 'mcu' as const };
  v.set('call-proceeding', buildCallProceeding(poly, mcu));
  v.set('alerting', buildAlerting(poly, mcu));
  v.set('connect', buildConnect(poly, { ...mcu, h245Address: transportAddress('192.0.2.1', 30000), display: 'MCU' }));
  v.set('facility-forward', buildFacilityForward(tandberg, transportAddress('192.0.2.7', 1720)));
  v.set('release-complete', buildReleaseFor(poly, 'undefinedReason', 16));
  const q = (type: number, fromDestination: boolean, ies: Array<{ id: number; data: Buffer }>): H323Message['q931'] => ({ callReference: 200, callReferenceLength: 2, fromDestination, type, ies });
  const pi = '0.0.8.2250.0.6';
  const call = { guid: guid(3) };
  v.set('progress', {
    q931: q(0x03, true, [{ id: 0x1e, data: Buffer.from('8188', 'hex') }]),
    uu: { 'h323-uu-pdu': { 'h323-message-body': { choice: 'progress', value: { protocolIdentifier: pi, destinationInfo: endpointType(IDENTITIES.codian, 'mcu'), callIdentifier: call, multipleCalls: false, maintainConnection: false } }, h245Tunnelling: true } },
  });
  v.set('information', { q931: q(0x7b, false, []), uu: { 'h323-uu-pdu': { 'h323-message-body': { choice: 'information', value: { protocolIdentifier: pi, callIdentifier: call } }, h245Tunnelling: true, h245Control: [END_SESSION] } } });
  v.set('notify', { q931: q(0x6e, true, [{ id: 0x27, data: Buffer.from('f1', 'hex') }]), uu: { 'h323-uu-pdu': { 'h323-message-body': { choice: 'notify', value: { protocolIdentifier: pi, callIdentifier: call, connectedAddress: [h323Id('MCU')] } } } } });
  v.set('status', {
    q931: q(0x7d, true, [
      { id: 0x08, data: Buffer.from('8090', 'hex') },
      { id: 0x14, data: Buffer.from('0a', 'hex') },
    ]),
    uu: { 'h323-uu-pdu': { 'h323-message-body': { choice: 'status', value: { protocolIdentifier: pi, callIdentifier: call } } } },
  });
  v.set('facility-empty', { q931: q(0x62, true, [{ id: 0x1c, data: Buffer.alloc(0) }]), uu: { 'h323-uu-pdu': { 'h323-message-body': { choice: 'empty', value: null }, h245Tunnelling: true, h245Control: [END_SESSION] } } });
  return v;
}

export const ALTERNATES: ras.AlternateGatekeeper[] = [
  { ip: '192.0.2.10', port: 1719, gatekeeperIdentifier: 'POP-B', priority: 1 },
  { ip: '198.51.100.10', port: 1719, needToRegister: true, priority: 2 },
];

export function rasVectors(): Map<string, ras.RasMessage> {
  const et = endpointType(IDENTITIES.polycom);
  const ta = transportAddress('10.1.1.2', 1719);
  const cs = transportAddress('10.1.1.2', 1720);
  const grq = ras.buildGrq({ requestSeqNum: 7, rasAddress: ta, endpointType: et, aliases: [h323Id('room-a')], supportsAltGK: true });
  const rrq = ras.buildRrq({ requestSeqNum: 8, callSignalAddress: [cs], rasAddress: [ta], terminalType: et, vendor: et.vendor!, aliases: [h323Id('room-a'), dialledDigits('5551234')], timeToLive: 300, supportsAltGK: true });
  const arq = ras.buildArq({ requestSeqNum: 9, endpointIdentifier: 'EP-1', srcInfo: [h323Id('room-a')], destinationInfo: [dialledDigits('8001')], callReferenceValue: 200, conferenceID: guid(4), callIdentifier: guid(3) });
  const lrq = ras.buildLrq({ requestSeqNum: 10, destinationInfo: [dialledDigits('8001')], replyAddress: ta, sourceInfo: [h323Id('room-a')] });
  const drq = ras.buildDrq({ requestSeqNum: 11, endpointIdentifier: 'EP-1', conferenceID: guid(4), callReferenceValue: 200, callIdentifier: guid(3) });
  const urq = ras.buildUrq({ requestSeqNum: 12, callSignalAddress: [cs], aliases: [h323Id('room-a')], endpointIdentifier: 'EP-1' });
  const gk = transportAddress('192.0.2.1', 1719);
  return new Map<string, ras.RasMessage>([
    ['grq', grq],
    ['gcf', ras.buildGcf(grq, { rasAddress: gk, gatekeeperIdentifier: 'POP-A', alternates: ALTERNATES })],
    ['grj', ras.buildGrj(grq, 'resourceUnavailable', { gatekeeperIdentifier: 'POP-A', alternates: ALTERNATES, permanent: true })],
    ['rrq', rrq],
    ['rcf', ras.buildRcf(rrq, { endpointIdentifier: 'EP-1', callSignalAddress: [transportAddress('192.0.2.1', 1720)], gatekeeperIdentifier: 'POP-A', alternates: ALTERNATES, timeToLive: 300 })],
    ['rrj', ras.buildRrj(rrq, 'resourceUnavailable', { alternates: ALTERNATES })],
    ['urq', urq],
    ['ucf', ras.buildUcf(urq)],
    ['arq', arq],
    ['acf', ras.buildAcf(arq, { destCallSignalAddress: transportAddress('192.0.2.7', 1720) })],
    ['arj', ras.buildArj(arq, 'resourceUnavailable', { alternates: ALTERNATES })],
    ['lrq', lrq],
    ['lcf', ras.buildLcf(lrq, { callSignalAddress: transportAddress('192.0.2.7', 1720), rasAddress: transportAddress('192.0.2.7', 1719) })],
    ['lrj', ras.buildLrj(lrq, 'requestDenied', { alternates: ALTERNATES })],
    ['drq', drq],
    ['dcf', ras.buildDcf(drq)],
  ]);
}
