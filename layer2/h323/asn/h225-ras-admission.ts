import { BOOLEAN, choice, ia5, int, NULL, nullChoice, octets, opt, seq, seqOf } from '../per/types.js';
import { ReleaseCompleteReason } from './h225-call.js';
import {
  AliasAddress,
  AlternateGK,
  AlternateTransportAddresses,
  AltGKInfo,
  BandWidth,
  BandwidthDetails,
  CallCapacity,
  CallIdentifier,
  CallLinkage,
  CallModel,
  CallReferenceValue,
  CallType,
  CircuitInfo,
  ConferenceIdentifier,
  CryptoTokens,
  DataRate,
  Endpoint,
  EndpointIdentifier,
  EndpointType,
  FeatureSet,
  GatekeeperIdentifier,
  GenericData,
  ICV,
  NonStandardParameter,
  PartyNumber,
  QseriesOptions,
  RasUsageInformation,
  RasUsageSpecification,
  RequestSeqNum,
  SecurityErrors2,
  ServiceControlSession,
  SupportedProtocols,
  Tokens,
  TransportAddress,
  TransportQOS,
  TunnelledProtocol,
  UseSpecifiedTransport,
} from './h225-common.js';
import { rejectWithAltGK } from './h225-ras-registration.js';

/** H323-MESSAGES (H.225.0 v7) RAS: admission, bandwidth, location and disengage (ARQ … DRJ). */

const Aliases = seqOf(AliasAddress);
const Addresses = seqOf(TransportAddress);
const Generic = opt(seqOf(GenericData));
const Languages = opt(seqOf(ia5(1, 32)));

export const AdmissionRequest = seq(
  'AdmissionRequest',
  {
    requestSeqNum: RequestSeqNum,
    callType: CallType,
    callModel: opt(CallModel),
    endpointIdentifier: EndpointIdentifier,
    destinationInfo: opt(Aliases),
    destCallSignalAddress: opt(TransportAddress),
    destExtraCallInfo: opt(Aliases),
    srcInfo: Aliases,
    srcCallSignalAddress: opt(TransportAddress),
    bandWidth: BandWidth,
    callReferenceValue: CallReferenceValue,
    nonStandardData: opt(NonStandardParameter),
    callServices: opt(QseriesOptions),
    conferenceID: ConferenceIdentifier,
    activeMC: BOOLEAN,
    answerCall: BOOLEAN,
  },
  {
    canMapAlias: BOOLEAN,
    callIdentifier: CallIdentifier,
    srcAlternatives: opt(seqOf(Endpoint)),
    destAlternatives: opt(seqOf(Endpoint)),
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    transportQOS: opt(TransportQOS),
    willSupplyUUIEs: BOOLEAN,
    callLinkage: opt(CallLinkage),
    gatewayDataRate: opt(DataRate),
    capacity: opt(CallCapacity),
    circuitInfo: opt(CircuitInfo),
    desiredProtocols: opt(seqOf(SupportedProtocols)),
    desiredTunnelledProtocol: opt(TunnelledProtocol),
    featureSet: opt(FeatureSet),
    genericData: Generic,
    canMapSrcAlias: BOOLEAN,
  },
);

export const UUIEsRequested = seq(
  'UUIEsRequested',
  {
    setup: BOOLEAN,
    callProceeding: BOOLEAN,
    connect: BOOLEAN,
    alerting: BOOLEAN,
    information: BOOLEAN,
    releaseComplete: BOOLEAN,
    facility: BOOLEAN,
    progress: BOOLEAN,
    empty: BOOLEAN,
  },
  { status: BOOLEAN, statusInquiry: BOOLEAN, setupAcknowledge: BOOLEAN, notify: BOOLEAN },
);

export const AdmissionConfirm = seq(
  'AdmissionConfirm',
  {
    requestSeqNum: RequestSeqNum,
    bandWidth: BandWidth,
    callModel: CallModel,
    destCallSignalAddress: TransportAddress,
    irrFrequency: opt(int(1, 65535)),
    nonStandardData: opt(NonStandardParameter),
  },
  {
    destinationInfo: opt(Aliases),
    destExtraCallInfo: opt(Aliases),
    destinationType: opt(EndpointType),
    remoteExtensionAddress: opt(Aliases),
    alternateEndpoints: opt(seqOf(Endpoint)),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    transportQOS: opt(TransportQOS),
    willRespondToIRR: BOOLEAN,
    uuiesRequested: UUIEsRequested,
    language: Languages,
    alternateTransportAddresses: opt(AlternateTransportAddresses),
    useSpecifiedTransport: opt(UseSpecifiedTransport),
    circuitInfo: opt(CircuitInfo),
    usageSpec: opt(seqOf(RasUsageSpecification)),
    supportedProtocols: opt(seqOf(SupportedProtocols)),
    serviceControl: opt(seqOf(ServiceControlSession)),
    multipleCalls: opt(BOOLEAN),
    featureSet: opt(FeatureSet),
    genericData: Generic,
    modifiedSrcInfo: opt(Aliases),
    assignedGatekeeper: opt(AlternateGK),
  },
);

export const AdmissionRejectReason = choice(
  'AdmissionRejectReason',
  {
    calledPartyNotRegistered: NULL,
    invalidPermission: NULL,
    requestDenied: NULL,
    undefinedReason: NULL,
    callerNotRegistered: NULL,
    routeCallToGatekeeper: NULL,
    invalidEndpointIdentifier: NULL,
    resourceUnavailable: NULL,
  },
  {
    securityDenial: NULL,
    qosControlNotSupported: NULL,
    incompleteAddress: NULL,
    aliasesInconsistent: NULL,
    routeCallToSCN: seqOf(PartyNumber),
    exceedsCallCapacity: NULL,
    collectDestination: NULL,
    collectPIN: NULL,
    genericDataReason: NULL,
    neededFeatureNotSupported: NULL,
    securityError: SecurityErrors2,
    securityDHmismatch: NULL,
    noRouteToDestination: NULL,
    unallocatedNumber: NULL,
    registerWithAssignedGK: NULL,
  },
);

export const AdmissionReject = seq(
  'AdmissionReject',
  { requestSeqNum: RequestSeqNum, rejectReason: AdmissionRejectReason, nonStandardData: opt(NonStandardParameter) },
  {
    altGKInfo: opt(AltGKInfo),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    callSignalAddress: opt(Addresses),
    integrityCheckValue: opt(ICV),
    serviceControl: opt(seqOf(ServiceControlSession)),
    featureSet: opt(FeatureSet),
    genericData: Generic,
    assignedGatekeeper: opt(AlternateGK),
  },
);

export const BandwidthRequest = seq(
  'BandwidthRequest',
  {
    requestSeqNum: RequestSeqNum,
    endpointIdentifier: EndpointIdentifier,
    conferenceID: ConferenceIdentifier,
    callReferenceValue: CallReferenceValue,
    callType: opt(CallType),
    bandWidth: BandWidth,
    nonStandardData: opt(NonStandardParameter),
  },
  {
    callIdentifier: CallIdentifier,
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    answeredCall: BOOLEAN,
    callLinkage: opt(CallLinkage),
    capacity: opt(CallCapacity),
    usageInformation: opt(RasUsageInformation),
    bandwidthDetails: opt(seqOf(BandwidthDetails)),
    genericData: Generic,
    transportQOS: opt(TransportQOS),
  },
);

export const BandwidthConfirm = seq(
  'BandwidthConfirm',
  { requestSeqNum: RequestSeqNum, bandWidth: BandWidth, nonStandardData: opt(NonStandardParameter) },
  {
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    capacity: opt(CallCapacity),
    genericData: Generic,
    transportQOS: opt(TransportQOS),
  },
);

export const BandRejectReason = choice(
  'BandRejectReason',
  { notBound: NULL, invalidConferenceID: NULL, invalidPermission: NULL, insufficientResources: NULL, invalidRevision: NULL, undefinedReason: NULL },
  { securityDenial: NULL, securityError: SecurityErrors2 },
);

export const BandwidthReject = seq(
  'BandwidthReject',
  { requestSeqNum: RequestSeqNum, rejectReason: BandRejectReason, allowedBandWidth: BandWidth, nonStandardData: opt(NonStandardParameter) },
  { altGKInfo: opt(AltGKInfo), tokens: opt(Tokens), cryptoTokens: opt(CryptoTokens), integrityCheckValue: opt(ICV), genericData: Generic },
);

export const LocationRequest = seq(
  'LocationRequest',
  {
    requestSeqNum: RequestSeqNum,
    endpointIdentifier: opt(EndpointIdentifier),
    destinationInfo: Aliases,
    nonStandardData: opt(NonStandardParameter),
    replyAddress: TransportAddress,
  },
  {
    sourceInfo: opt(Aliases),
    canMapAlias: BOOLEAN,
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    desiredProtocols: opt(seqOf(SupportedProtocols)),
    desiredTunnelledProtocol: opt(TunnelledProtocol),
    featureSet: opt(FeatureSet),
    genericData: Generic,
    hopCount: opt(int(1, 255)),
    circuitInfo: opt(CircuitInfo),
    callIdentifier: opt(CallIdentifier),
    bandWidth: opt(BandWidth),
    sourceEndpointInfo: opt(Aliases),
    canMapSrcAlias: BOOLEAN,
    language: Languages,
  },
);

export const LocationConfirm = seq(
  'LocationConfirm',
  { requestSeqNum: RequestSeqNum, callSignalAddress: TransportAddress, rasAddress: TransportAddress, nonStandardData: opt(NonStandardParameter) },
  {
    destinationInfo: opt(Aliases),
    destExtraCallInfo: opt(Aliases),
    destinationType: opt(EndpointType),
    remoteExtensionAddress: opt(Aliases),
    alternateEndpoints: opt(seqOf(Endpoint)),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    alternateTransportAddresses: opt(AlternateTransportAddresses),
    supportedProtocols: opt(seqOf(SupportedProtocols)),
    multipleCalls: opt(BOOLEAN),
    featureSet: opt(FeatureSet),
    genericData: Generic,
    circuitInfo: opt(CircuitInfo),
    serviceControl: opt(seqOf(ServiceControlSession)),
    modifiedSrcInfo: opt(Aliases),
    bandWidth: opt(BandWidth),
  },
);

export const LocationRejectReason = choice(
  'LocationRejectReason',
  { notRegistered: NULL, invalidPermission: NULL, requestDenied: NULL, undefinedReason: NULL },
  {
    securityDenial: NULL,
    aliasesInconsistent: NULL,
    routeCalltoSCN: seqOf(PartyNumber),
    resourceUnavailable: NULL,
    genericDataReason: NULL,
    neededFeatureNotSupported: NULL,
    hopCountExceeded: NULL,
    incompleteAddress: NULL,
    securityError: SecurityErrors2,
    securityDHmismatch: NULL,
    noRouteToDestination: NULL,
    unallocatedNumber: NULL,
  },
);

export const LocationReject = seq(
  'LocationReject',
  { requestSeqNum: RequestSeqNum, rejectReason: LocationRejectReason, nonStandardData: opt(NonStandardParameter) },
  {
    altGKInfo: opt(AltGKInfo),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    featureSet: opt(FeatureSet),
    genericData: Generic,
    serviceControl: opt(seqOf(ServiceControlSession)),
  },
);

export const CallTerminationCause = choice('CallTerminationCause', { releaseCompleteReason: ReleaseCompleteReason, releaseCompleteCauseIE: octets(2, 32) }, {});

export const DisengageReason = nullChoice('DisengageReason', ['forcedDrop', 'normalDrop', 'undefinedReason'], []);

export const DisengageRequest = seq(
  'DisengageRequest',
  {
    requestSeqNum: RequestSeqNum,
    endpointIdentifier: EndpointIdentifier,
    conferenceID: ConferenceIdentifier,
    callReferenceValue: CallReferenceValue,
    disengageReason: DisengageReason,
    nonStandardData: opt(NonStandardParameter),
  },
  {
    callIdentifier: CallIdentifier,
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    answeredCall: BOOLEAN,
    callLinkage: opt(CallLinkage),
    capacity: opt(CallCapacity),
    circuitInfo: opt(CircuitInfo),
    usageInformation: opt(RasUsageInformation),
    terminationCause: opt(CallTerminationCause),
    serviceControl: opt(seqOf(ServiceControlSession)),
    genericData: Generic,
  },
);

export const DisengageConfirm = seq(
  'DisengageConfirm',
  { requestSeqNum: RequestSeqNum, nonStandardData: opt(NonStandardParameter) },
  {
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    capacity: opt(CallCapacity),
    circuitInfo: opt(CircuitInfo),
    usageInformation: opt(RasUsageInformation),
    genericData: Generic,
    assignedGatekeeper: opt(AlternateGK),
  },
);

export const DisengageRejectReason = choice('DisengageRejectReason', { notRegistered: NULL, requestToDropOther: NULL }, { securityDenial: NULL, securityError: SecurityErrors2 });

export const DisengageReject = rejectWithAltGK('DisengageReject', DisengageRejectReason);
