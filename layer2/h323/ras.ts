import { RasMessage as RasMessageType } from './asn/h225-ras.js';
import { protocolIdentifier, transportAddress, type AliasAddress, type TransportAddress } from './h225.js';
import { perDecode, perEncode, type DecodeOptions } from './per/codec.js';
import type { PerChoice, PerObject } from './per/types.js';
import { DEFAULT_VERSION } from './builder.js';

/** RAS (H.225.0 clause 7, UDP 1719): one `RasMessage` per datagram. */
export type RasMessage = PerChoice;

export const RAS_ABBREVIATIONS: Readonly<Record<string, string>> = {
  gatekeeperRequest: 'GRQ',
  gatekeeperConfirm: 'GCF',
  gatekeeperReject: 'GRJ',
  registrationRequest: 'RRQ',
  registrationConfirm: 'RCF',
  registrationReject: 'RRJ',
  unregistrationRequest: 'URQ',
  unregistrationConfirm: 'UCF',
  unregistrationReject: 'URJ',
  admissionRequest: 'ARQ',
  admissionConfirm: 'ACF',
  admissionReject: 'ARJ',
  bandwidthRequest: 'BRQ',
  bandwidthConfirm: 'BCF',
  bandwidthReject: 'BRJ',
  disengageRequest: 'DRQ',
  disengageConfirm: 'DCF',
  disengageReject: 'DRJ',
  locationRequest: 'LRQ',
  locationConfirm: 'LCF',
  locationReject: 'LRJ',
  infoRequest: 'IRQ',
  infoRequestResponse: 'IRR',
  nonStandardMessage: 'NSM',
  unknownMessageResponse: 'XRS',
  requestInProgress: 'RIP',
  resourcesAvailableIndicate: 'RAI',
  resourcesAvailableConfirm: 'RAC',
  infoRequestAck: 'IACK',
  infoRequestNak: 'INAK',
  serviceControlIndication: 'SCI',
  serviceControlResponse: 'SCR',
  admissionConfirmSequence: 'ACFS',
};

export function decodeRas(datagram: Buffer, opts: DecodeOptions = {}): RasMessage {
  return perDecode(RasMessageType, datagram, opts) as RasMessage;
}

export function encodeRas(m: RasMessage): Buffer {
  return perEncode(RasMessageType, m);
}

/** The body of a RAS message that is a SEQUENCE (all but admissionConfirmSequence and unknown ones). */
export function rasBody(m: RasMessage): PerObject | undefined {
  const v = m.value;
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) ? v : undefined;
}

export function rasSeqNum(m: RasMessage): number | undefined {
  const n = rasBody(m)?.requestSeqNum;
  return typeof n === 'number' ? n : undefined;
}

/** One alternate gatekeeper for GCF/RCF `alternateGatekeeper` or a reject's `altGKInfo`. */
export interface AlternateGatekeeper {
  ip: string;
  port: number;
  gatekeeperIdentifier?: string;
  needToRegister?: boolean;
  priority?: number;
}

export function alternateGK(a: AlternateGatekeeper): PerObject {
  const g: PerObject = { rasAddress: transportAddress(a.ip, a.port), needToRegister: a.needToRegister ?? true, priority: a.priority ?? 0 };
  if (a.gatekeeperIdentifier) g.gatekeeperIdentifier = a.gatekeeperIdentifier;
  return g;
}

const altGKInfo = (alts: AlternateGatekeeper[], permanent: boolean): PerObject => ({ alternateGatekeeper: alts.map(alternateGK), altGKisPermanent: permanent });

const seqOf = (req: RasMessage): number => rasSeqNum(req) ?? 1;
const pid = (): string => protocolIdentifier(DEFAULT_VERSION);

export interface GatekeeperAnswer {
  rasAddress: TransportAddress;
  gatekeeperIdentifier?: string;
  alternates?: AlternateGatekeeper[];
}

export function buildGcf(grq: RasMessage, o: GatekeeperAnswer): RasMessage {
  const v: PerObject = { requestSeqNum: seqOf(grq), protocolIdentifier: pid(), rasAddress: o.rasAddress };
  if (o.gatekeeperIdentifier) v.gatekeeperIdentifier = o.gatekeeperIdentifier;
  if (o.alternates?.length) v.alternateGatekeeper = o.alternates.map(alternateGK);
  return { choice: 'gatekeeperConfirm', value: v };
}

export function buildGrj(grq: RasMessage, reason = 'resourceUnavailable', o: { gatekeeperIdentifier?: string; alternates?: AlternateGatekeeper[]; permanent?: boolean } = {}): RasMessage {
  const v: PerObject = { requestSeqNum: seqOf(grq), protocolIdentifier: pid(), rejectReason: { choice: reason, value: null } };
  if (o.gatekeeperIdentifier) v.gatekeeperIdentifier = o.gatekeeperIdentifier;
  if (o.alternates?.length) v.altGKInfo = altGKInfo(o.alternates, o.permanent ?? false);
  return { choice: 'gatekeeperReject', value: v };
}

export interface RegistrationAnswer {
  endpointIdentifier: string;
  callSignalAddress: TransportAddress[];
  gatekeeperIdentifier?: string;
  terminalAlias?: AliasAddress[];
  alternates?: AlternateGatekeeper[];
  timeToLive?: number;
}

export function buildRcf(rrq: RasMessage, o: RegistrationAnswer): RasMessage {
  const v: PerObject = { requestSeqNum: seqOf(rrq), protocolIdentifier: pid(), callSignalAddress: o.callSignalAddress, endpointIdentifier: o.endpointIdentifier };
  if (o.terminalAlias?.length) v.terminalAlias = o.terminalAlias;
  if (o.gatekeeperIdentifier) v.gatekeeperIdentifier = o.gatekeeperIdentifier;
  if (o.alternates?.length) v.alternateGatekeeper = o.alternates.map(alternateGK);
  if (o.timeToLive) v.timeToLive = o.timeToLive;
  v.willRespondToIRR = false;
  v.maintainConnection = false;
  return { choice: 'registrationConfirm', value: v };
}

/** `duplicates`: with reason duplicateAlias, the aliases another endpoint holds. */
export function buildRrj(rrq: RasMessage, reason = 'resourceUnavailable', o: { alternates?: AlternateGatekeeper[]; permanent?: boolean; duplicates?: AliasAddress[] } = {}): RasMessage {
  const v: PerObject = { requestSeqNum: seqOf(rrq), protocolIdentifier: pid(), rejectReason: { choice: reason, value: reason === 'duplicateAlias' ? (o.duplicates ?? []) : null } };
  if (o.alternates?.length) v.altGKInfo = altGKInfo(o.alternates, o.permanent ?? false);
  return { choice: 'registrationReject', value: v };
}

export function buildUcf(urq: RasMessage): RasMessage {
  return { choice: 'unregistrationConfirm', value: { requestSeqNum: seqOf(urq) } };
}

/** URJ: notCurrentlyRegistered, or permissionDenied for a registration of another source. */
export function buildUrj(urq: RasMessage, reason: 'notCurrentlyRegistered' | 'permissionDenied' = 'notCurrentlyRegistered'): RasMessage {
  return { choice: 'unregistrationReject', value: { requestSeqNum: seqOf(urq), rejectReason: { choice: reason, value: null } } };
}

export function buildAcf(arq: RasMessage, o: { destCallSignalAddress: TransportAddress; bandWidth?: number }): RasMessage {
  const req = rasBody(arq);
  const bw = typeof req?.bandWidth === 'number' ? req.bandWidth : 3840;
  return {
    choice: 'admissionConfirm',
    value: {
      requestSeqNum: seqOf(arq),
      bandWidth: o.bandWidth ?? bw,
      callModel: { choice: 'direct', value: null },
      destCallSignalAddress: o.destCallSignalAddress,
      willRespondToIRR: false,
      uuiesRequested: {
        setup: false,
        callProceeding: false,
        connect: false,
        alerting: false,
        information: false,
        releaseComplete: false,
        facility: false,
        progress: false,
        empty: false,
      },
    },
  };
}

export function buildArj(arq: RasMessage, reason = 'resourceUnavailable', o: { alternates?: AlternateGatekeeper[]; permanent?: boolean } = {}): RasMessage {
  const v: PerObject = { requestSeqNum: seqOf(arq), rejectReason: { choice: reason, value: null } };
  if (o.alternates?.length) v.altGKInfo = altGKInfo(o.alternates, o.permanent ?? false);
  return { choice: 'admissionReject', value: v };
}

export function buildDcf(drq: RasMessage): RasMessage {
  return { choice: 'disengageConfirm', value: { requestSeqNum: seqOf(drq) } };
}

export function buildLcf(lrq: RasMessage, o: { callSignalAddress: TransportAddress; rasAddress: TransportAddress }): RasMessage {
  return { choice: 'locationConfirm', value: { requestSeqNum: seqOf(lrq), callSignalAddress: o.callSignalAddress, rasAddress: o.rasAddress } };
}

export function buildLrj(lrq: RasMessage, reason = 'requestDenied', o: { alternates?: AlternateGatekeeper[]; permanent?: boolean } = {}): RasMessage {
  const v: PerObject = { requestSeqNum: seqOf(lrq), rejectReason: { choice: reason, value: null } };
  if (o.alternates?.length) v.altGKInfo = altGKInfo(o.alternates, o.permanent ?? false);
  return { choice: 'locationReject', value: v };
}

/** Requests, as an endpoint (the simulator) sends them. */
export interface RasRequestBase {
  requestSeqNum: number;
}

export function buildGrq(o: RasRequestBase & { rasAddress: TransportAddress; endpointType: PerObject; aliases?: AliasAddress[]; supportsAltGK?: boolean }): RasMessage {
  const v: PerObject = { requestSeqNum: o.requestSeqNum, protocolIdentifier: pid(), rasAddress: o.rasAddress, endpointType: o.endpointType };
  if (o.aliases?.length) v.endpointAlias = o.aliases;
  if (o.supportsAltGK) v.supportsAltGK = null;
  return { choice: 'gatekeeperRequest', value: v };
}

export function buildRrq(
  o: RasRequestBase & { callSignalAddress: TransportAddress[]; rasAddress: TransportAddress[]; terminalType: PerObject; vendor: PerObject; aliases?: AliasAddress[]; timeToLive?: number; supportsAltGK?: boolean },
): RasMessage {
  const v: PerObject = {
    requestSeqNum: o.requestSeqNum,
    protocolIdentifier: pid(),
    discoveryComplete: false,
    callSignalAddress: o.callSignalAddress,
    rasAddress: o.rasAddress,
    terminalType: o.terminalType,
    endpointVendor: o.vendor,
  };
  if (o.aliases?.length) v.terminalAlias = o.aliases;
  if (o.timeToLive) v.timeToLive = o.timeToLive;
  v.keepAlive = false;
  v.willSupplyUUIEs = false;
  v.maintainConnection = false;
  if (o.supportsAltGK) v.supportsAltGK = null;
  return { choice: 'registrationRequest', value: v };
}

export function buildUrq(o: RasRequestBase & { callSignalAddress: TransportAddress[]; aliases?: AliasAddress[]; endpointIdentifier?: string }): RasMessage {
  const v: PerObject = { requestSeqNum: o.requestSeqNum, callSignalAddress: o.callSignalAddress };
  if (o.aliases?.length) v.endpointAlias = o.aliases;
  if (o.endpointIdentifier) v.endpointIdentifier = o.endpointIdentifier;
  return { choice: 'unregistrationRequest', value: v };
}

export function buildArq(
  o: RasRequestBase & {
    endpointIdentifier: string;
    srcInfo: AliasAddress[];
    destinationInfo?: AliasAddress[];
    destCallSignalAddress?: TransportAddress;
    bandWidth?: number;
    callReferenceValue: number;
    conferenceID: Buffer;
    callIdentifier: Buffer;
    answerCall?: boolean;
  },
): RasMessage {
  const v: PerObject = { requestSeqNum: o.requestSeqNum, callType: { choice: 'pointToPoint', value: null }, endpointIdentifier: o.endpointIdentifier };
  if (o.destinationInfo?.length) v.destinationInfo = o.destinationInfo;
  if (o.destCallSignalAddress) v.destCallSignalAddress = o.destCallSignalAddress;
  Object.assign(v, {
    srcInfo: o.srcInfo,
    bandWidth: o.bandWidth ?? 3840,
    callReferenceValue: o.callReferenceValue,
    conferenceID: o.conferenceID,
    activeMC: false,
    answerCall: o.answerCall ?? false,
    canMapAlias: false,
    callIdentifier: { guid: o.callIdentifier },
    willSupplyUUIEs: false,
    canMapSrcAlias: false,
  });
  return { choice: 'admissionRequest', value: v };
}

export function buildDrq(o: RasRequestBase & { endpointIdentifier: string; conferenceID: Buffer; callReferenceValue: number; callIdentifier: Buffer; answeredCall?: boolean }): RasMessage {
  return {
    choice: 'disengageRequest',
    value: {
      requestSeqNum: o.requestSeqNum,
      endpointIdentifier: o.endpointIdentifier,
      conferenceID: o.conferenceID,
      callReferenceValue: o.callReferenceValue,
      disengageReason: { choice: 'normalDrop', value: null },
      callIdentifier: { guid: o.callIdentifier },
      answeredCall: o.answeredCall ?? false,
    },
  };
}

export function buildLrq(o: RasRequestBase & { destinationInfo: AliasAddress[]; replyAddress: TransportAddress; sourceInfo?: AliasAddress[] }): RasMessage {
  const v: PerObject = { requestSeqNum: o.requestSeqNum, destinationInfo: o.destinationInfo, replyAddress: o.replyAddress };
  if (o.sourceInfo?.length) v.sourceInfo = o.sourceInfo;
  v.canMapAlias = false;
  v.canMapSrcAlias = false;
  return { choice: 'locationRequest', value: v };
}
