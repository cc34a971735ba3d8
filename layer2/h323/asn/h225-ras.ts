import { BOOLEAN, choice, int, NULL, nullChoice, octets, opt, seq, seqOf } from '../per/types.js';
import { H323UUPDU } from './h225-call.js';
import {
  AliasAddress,
  AlternateGK,
  AltGKInfo,
  BandWidth,
  CallCapacity,
  CallIdentifier,
  CallLinkage,
  CallModel,
  CallReferenceValue,
  CallType,
  CircuitInfo,
  ConferenceIdentifier,
  CryptoTokens,
  EndpointIdentifier,
  EndpointType,
  FeatureSet,
  GenericData,
  ICV,
  NonStandardParameter,
  ProtocolIdentifier,
  RasUsageInformation,
  RasUsageInfoTypes,
  RequestSeqNum,
  RTPSession,
  SecurityErrors2,
  ServiceControlSession,
  SupportedProtocols,
  Tokens,
  TransportAddress,
  TransportChannelInfo,
} from './h225-common.js';
import {
  GatekeeperConfirm,
  GatekeeperReject,
  GatekeeperRequest,
  RegistrationConfirm,
  RegistrationReject,
  RegistrationRequest,
  UnregistrationConfirm,
  UnregistrationReject,
  UnregistrationRequest,
} from './h225-ras-registration.js';
import {
  AdmissionConfirm,
  AdmissionReject,
  AdmissionRequest,
  BandwidthConfirm,
  BandwidthReject,
  BandwidthRequest,
  DisengageConfirm,
  DisengageReject,
  DisengageRequest,
  LocationConfirm,
  LocationReject,
  LocationRequest,
  UUIEsRequested,
} from './h225-ras-admission.js';

/** H323-MESSAGES (H.225.0 v7): `RasMessage`, the registration, admission and status channel (UDP 1719). */

export * from './h225-ras-registration.js';
export * from './h225-ras-admission.js';

const Aliases = seqOf(AliasAddress);
const Addresses = seqOf(TransportAddress);
const Generic = opt(seqOf(GenericData));

export const InfoRequest = seq(
  'InfoRequest',
  { requestSeqNum: RequestSeqNum, callReferenceValue: CallReferenceValue, nonStandardData: opt(NonStandardParameter), replyAddress: opt(TransportAddress) },
  {
    callIdentifier: CallIdentifier,
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    uuiesRequested: opt(UUIEsRequested),
    callLinkage: opt(CallLinkage),
    usageInfoRequested: opt(RasUsageInfoTypes),
    segmentedResponseSupported: opt(NULL),
    nextSegmentRequested: opt(int(0, 65535)),
    capacityInfoRequested: opt(NULL),
    genericData: Generic,
    assignedGatekeeper: opt(AlternateGK),
  },
);

const PerCallInfo = seq(
  'perCallInfo',
  {
    nonStandardData: opt(NonStandardParameter),
    callReferenceValue: CallReferenceValue,
    conferenceID: ConferenceIdentifier,
    originator: opt(BOOLEAN),
    audio: opt(seqOf(RTPSession)),
    video: opt(seqOf(RTPSession)),
    data: opt(seqOf(TransportChannelInfo)),
    h245: TransportChannelInfo,
    callSignalling: TransportChannelInfo,
    callType: CallType,
    bandWidth: BandWidth,
    callModel: CallModel,
  },
  {
    callIdentifier: CallIdentifier,
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    substituteConfIDs: seqOf(ConferenceIdentifier),
    pdu: opt(seqOf(seq('pdu', { h323pdu: H323UUPDU, sent: BOOLEAN }))),
    callLinkage: opt(CallLinkage),
    usageInformation: opt(RasUsageInformation),
    circuitInfo: opt(CircuitInfo),
  },
);

export const InfoRequestResponseStatus = choice('InfoRequestResponseStatus', { complete: NULL, incomplete: NULL, segment: int(0, 65535), invalidCall: NULL }, {});

export const InfoRequestResponse = seq(
  'InfoRequestResponse',
  {
    nonStandardData: opt(NonStandardParameter),
    requestSeqNum: RequestSeqNum,
    endpointType: EndpointType,
    endpointIdentifier: EndpointIdentifier,
    rasAddress: TransportAddress,
    callSignalAddress: Addresses,
    endpointAlias: opt(Aliases),
    perCallInfo: opt(seqOf(PerCallInfo)),
  },
  {
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    needResponse: BOOLEAN,
    capacity: opt(CallCapacity),
    irrStatus: opt(InfoRequestResponseStatus),
    unsolicited: BOOLEAN,
    genericData: Generic,
  },
);

export const NonStandardMessage = seq(
  'NonStandardMessage',
  { requestSeqNum: RequestSeqNum, nonStandardData: NonStandardParameter },
  { tokens: opt(Tokens), cryptoTokens: opt(CryptoTokens), integrityCheckValue: opt(ICV), featureSet: opt(FeatureSet), genericData: Generic },
);

export const UnknownMessageResponse = seq(
  'UnknownMessageResponse',
  { requestSeqNum: RequestSeqNum },
  { tokens: opt(Tokens), cryptoTokens: opt(CryptoTokens), integrityCheckValue: opt(ICV), messageNotUnderstood: octets() },
);

export const RequestInProgress = seq(
  'RequestInProgress',
  {
    requestSeqNum: RequestSeqNum,
    nonStandardData: opt(NonStandardParameter),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    delay: int(1, 65535),
  },
  {},
);

export const ResourcesAvailableIndicate = seq(
  'ResourcesAvailableIndicate',
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    endpointIdentifier: EndpointIdentifier,
    protocols: seqOf(SupportedProtocols),
    almostOutOfResources: BOOLEAN,
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
  },
  { capacity: opt(CallCapacity), genericData: Generic },
);

export const ResourcesAvailableConfirm = seq(
  'ResourcesAvailableConfirm',
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
  },
  { genericData: Generic },
);

export const InfoRequestAck = seq(
  'InfoRequestAck',
  { requestSeqNum: RequestSeqNum, nonStandardData: opt(NonStandardParameter), tokens: opt(Tokens), cryptoTokens: opt(CryptoTokens), integrityCheckValue: opt(ICV) },
  {},
);

export const InfoRequestNakReason = choice('InfoRequestNakReason', { notRegistered: NULL, securityDenial: NULL, undefinedReason: NULL }, { securityError: SecurityErrors2 });

export const InfoRequestNak = seq(
  'InfoRequestNak',
  {
    requestSeqNum: RequestSeqNum,
    nonStandardData: opt(NonStandardParameter),
    nakReason: InfoRequestNakReason,
    altGKInfo: opt(AltGKInfo),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
  },
  {},
);

export const ServiceControlIndication = seq(
  'ServiceControlIndication',
  {
    requestSeqNum: RequestSeqNum,
    nonStandardData: opt(NonStandardParameter),
    serviceControl: seqOf(ServiceControlSession),
    endpointIdentifier: opt(EndpointIdentifier),
    callSpecific: opt(seq('callSpecific', { callIdentifier: CallIdentifier, conferenceID: ConferenceIdentifier, answeredCall: BOOLEAN }, {})),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    featureSet: opt(FeatureSet),
    genericData: Generic,
  },
  {},
);

export const ServiceControlResponse = seq(
  'ServiceControlResponse',
  {
    requestSeqNum: RequestSeqNum,
    result: opt(nullChoice('result', ['started', 'failed', 'stopped', 'notAvailable', 'neededFeatureNotSupported'], [])),
    nonStandardData: opt(NonStandardParameter),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    featureSet: opt(FeatureSet),
    genericData: Generic,
  },
  {},
);

export const RasMessage = choice(
  'RasMessage',
  {
    gatekeeperRequest: GatekeeperRequest,
    gatekeeperConfirm: GatekeeperConfirm,
    gatekeeperReject: GatekeeperReject,
    registrationRequest: RegistrationRequest,
    registrationConfirm: RegistrationConfirm,
    registrationReject: RegistrationReject,
    unregistrationRequest: UnregistrationRequest,
    unregistrationConfirm: UnregistrationConfirm,
    unregistrationReject: UnregistrationReject,
    admissionRequest: AdmissionRequest,
    admissionConfirm: AdmissionConfirm,
    admissionReject: AdmissionReject,
    bandwidthRequest: BandwidthRequest,
    bandwidthConfirm: BandwidthConfirm,
    bandwidthReject: BandwidthReject,
    disengageRequest: DisengageRequest,
    disengageConfirm: DisengageConfirm,
    disengageReject: DisengageReject,
    locationRequest: LocationRequest,
    locationConfirm: LocationConfirm,
    locationReject: LocationReject,
    infoRequest: InfoRequest,
    infoRequestResponse: InfoRequestResponse,
    nonStandardMessage: NonStandardMessage,
    unknownMessageResponse: UnknownMessageResponse,
  },
  {
    requestInProgress: RequestInProgress,
    resourcesAvailableIndicate: ResourcesAvailableIndicate,
    resourcesAvailableConfirm: ResourcesAvailableConfirm,
    infoRequestAck: InfoRequestAck,
    infoRequestNak: InfoRequestNak,
    serviceControlIndication: ServiceControlIndication,
    serviceControlResponse: ServiceControlResponse,
    admissionConfirmSequence: seqOf(AdmissionConfirm),
  },
);
