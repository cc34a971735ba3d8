import { BOOLEAN, choice, ia5, int, NULL, nullChoice, OID, octets, opt, seq, seqOf, type SeqType } from '../per/types.js';
import { AuthenticationMechanism } from './h235.js';
import { ReleaseCompleteReason, H323UUPDU } from './h225-call.js';
import {
  AddressPattern,
  AliasAddress,
  AlternateGK,
  AlternateTransportAddresses,
  AltGKInfo,
  BandwidthDetails,
  BandWidth,
  CallCapacity,
  CallCreditCapability,
  CallIdentifier,
  CallLinkage,
  CallModel,
  CallReferenceValue,
  CallType,
  CapacityReportingCapability,
  CapacityReportingSpecification,
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
  H248PackagesDescriptor,
  ICV,
  IntegrityMechanism,
  NonStandardParameter,
  PartyNumber,
  ProtocolIdentifier,
  QseriesOptions,
  RasUsageInfoTypes,
  RasUsageInformation,
  RasUsageSpecification,
  RehomingModel,
  RequestSeqNum,
  RTPSession,
  SecurityErrors,
  SecurityErrors2,
  ServiceControlSession,
  SupportedPrefix,
  SupportedProtocols,
  TimeToLive,
  Tokens,
  TransportAddress,
  TransportChannelInfo,
  TransportQOS,
  TunnelledProtocol,
  UseSpecifiedTransport,
  VendorIdentifier,
} from './h225-common.js';

/** H323-MESSAGES (H.225.0 v7): `RasMessage`, the registration, admission and status channel (UDP 1719). */

const Aliases = seqOf(AliasAddress);
const Addresses = seqOf(TransportAddress);
const Generic = opt(seqOf(GenericData));
const Languages = opt(seqOf(ia5(1, 32)));

export const GatekeeperRequest = seq(
  'GatekeeperRequest',
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    rasAddress: TransportAddress,
    endpointType: EndpointType,
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    callServices: opt(QseriesOptions),
    endpointAlias: opt(Aliases),
  },
  {
    alternateEndpoints: opt(seqOf(Endpoint)),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    authenticationCapability: opt(seqOf(AuthenticationMechanism)),
    algorithmOIDs: opt(seqOf(OID)),
    integrity: opt(seqOf(IntegrityMechanism)),
    integrityCheckValue: opt(ICV),
    supportsAltGK: opt(NULL),
    featureSet: opt(FeatureSet),
    genericData: Generic,
    supportsAssignedGK: BOOLEAN,
    assignedGatekeeper: opt(AlternateGK),
  },
);

export const GatekeeperConfirm = seq(
  'GatekeeperConfirm',
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    rasAddress: TransportAddress,
  },
  {
    alternateGatekeeper: opt(seqOf(AlternateGK)),
    authenticationMode: opt(AuthenticationMechanism),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    algorithmOID: opt(OID),
    integrity: opt(seqOf(IntegrityMechanism)),
    integrityCheckValue: opt(ICV),
    featureSet: opt(FeatureSet),
    genericData: Generic,
    assignedGatekeeper: opt(AlternateGK),
    rehomingModel: opt(RehomingModel),
  },
);

export const GatekeeperRejectReason = choice(
  'GatekeeperRejectReason',
  { resourceUnavailable: NULL, terminalExcluded: NULL, invalidRevision: NULL, undefinedReason: NULL },
  { securityDenial: NULL, genericDataReason: NULL, neededFeatureNotSupported: NULL, securityError: SecurityErrors },
);

export const GatekeeperReject = seq(
  'GatekeeperReject',
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    rejectReason: GatekeeperRejectReason,
  },
  {
    altGKInfo: opt(AltGKInfo),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    featureSet: opt(FeatureSet),
    genericData: Generic,
  },
);

export const RegistrationRequest = seq(
  'RegistrationRequest',
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    discoveryComplete: BOOLEAN,
    callSignalAddress: Addresses,
    rasAddress: Addresses,
    terminalType: EndpointType,
    terminalAlias: opt(Aliases),
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    endpointVendor: VendorIdentifier,
  },
  {
    alternateEndpoints: opt(seqOf(Endpoint)),
    timeToLive: opt(TimeToLive),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    keepAlive: BOOLEAN,
    endpointIdentifier: opt(EndpointIdentifier),
    willSupplyUUIEs: BOOLEAN,
    maintainConnection: BOOLEAN,
    alternateTransportAddresses: opt(AlternateTransportAddresses),
    additiveRegistration: opt(NULL),
    terminalAliasPattern: opt(seqOf(AddressPattern)),
    supportsAltGK: opt(NULL),
    usageReportingCapability: opt(RasUsageInfoTypes),
    multipleCalls: opt(BOOLEAN),
    supportedH248Packages: opt(seqOf(H248PackagesDescriptor)),
    callCreditCapability: opt(CallCreditCapability),
    capacityReportingCapability: opt(CapacityReportingCapability),
    capacity: opt(CallCapacity),
    featureSet: opt(FeatureSet),
    genericData: Generic,
    restart: opt(NULL),
    supportsACFSequences: opt(NULL),
    supportsAssignedGK: BOOLEAN,
    assignedGatekeeper: opt(AlternateGK),
    transportQOS: opt(TransportQOS),
    language: Languages,
  },
);

export const RegistrationConfirm = seq(
  'RegistrationConfirm',
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    callSignalAddress: Addresses,
    terminalAlias: opt(Aliases),
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    endpointIdentifier: EndpointIdentifier,
  },
  {
    alternateGatekeeper: opt(seqOf(AlternateGK)),
    timeToLive: opt(TimeToLive),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    willRespondToIRR: BOOLEAN,
    preGrantedARQ: opt(
      seq(
        'preGrantedARQ',
        { makeCall: BOOLEAN, useGKCallSignalAddressToMakeCall: BOOLEAN, answerCall: BOOLEAN, useGKCallSignalAddressToAnswer: BOOLEAN },
        {
          irrFrequencyInCall: opt(int(1, 65535)),
          totalBandwidthRestriction: opt(BandWidth),
          alternateTransportAddresses: opt(AlternateTransportAddresses),
          useSpecifiedTransport: opt(UseSpecifiedTransport),
        },
      ),
    ),
    maintainConnection: BOOLEAN,
    serviceControl: opt(seqOf(ServiceControlSession)),
    supportsAdditiveRegistration: opt(NULL),
    terminalAliasPattern: opt(seqOf(AddressPattern)),
    supportedPrefixes: opt(seqOf(SupportedPrefix)),
    usageSpec: opt(seqOf(RasUsageSpecification)),
    featureServerAlias: opt(AliasAddress),
    capacityReportingSpec: opt(CapacityReportingSpecification),
    featureSet: opt(FeatureSet),
    genericData: Generic,
    assignedGatekeeper: opt(AlternateGK),
    rehomingModel: opt(RehomingModel),
    transportQOS: opt(TransportQOS),
  },
);

export const RegistrationRejectReason = choice(
  'RegistrationRejectReason',
  {
    discoveryRequired: NULL,
    invalidRevision: NULL,
    invalidCallSignalAddress: NULL,
    invalidRASAddress: NULL,
    duplicateAlias: Aliases,
    invalidTerminalType: NULL,
    undefinedReason: NULL,
    transportNotSupported: NULL,
  },
  {
    transportQOSNotSupported: NULL,
    resourceUnavailable: NULL,
    invalidAlias: NULL,
    securityDenial: NULL,
    fullRegistrationRequired: NULL,
    additiveRegistrationNotSupported: NULL,
    invalidTerminalAliases: seq(
      'invalidTerminalAliases',
      { terminalAlias: opt(Aliases), terminalAliasPattern: opt(seqOf(AddressPattern)), supportedPrefixes: opt(seqOf(SupportedPrefix)) },
      {},
    ),
    genericDataReason: NULL,
    neededFeatureNotSupported: NULL,
    securityError: SecurityErrors,
    registerWithAssignedGK: NULL,
  },
);

export const RegistrationReject = seq(
  'RegistrationReject',
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    rejectReason: RegistrationRejectReason,
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
  },
  {
    altGKInfo: opt(AltGKInfo),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    featureSet: opt(FeatureSet),
    genericData: Generic,
    assignedGatekeeper: opt(AlternateGK),
  },
);

export const UnregRequestReason = choice(
  'UnregRequestReason',
  { reregistrationRequired: NULL, ttlExpired: NULL, securityDenial: NULL, undefinedReason: NULL },
  { maintenance: NULL, securityError: SecurityErrors2, registerWithAssignedGK: NULL },
);

export const UnregistrationRequest = seq(
  'UnregistrationRequest',
  {
    requestSeqNum: RequestSeqNum,
    callSignalAddress: Addresses,
    endpointAlias: opt(Aliases),
    nonStandardData: opt(NonStandardParameter),
    endpointIdentifier: opt(EndpointIdentifier),
  },
  {
    alternateEndpoints: opt(seqOf(Endpoint)),
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    reason: opt(UnregRequestReason),
    endpointAliasPattern: opt(seqOf(AddressPattern)),
    supportedPrefixes: opt(seqOf(SupportedPrefix)),
    alternateGatekeeper: opt(seqOf(AlternateGK)),
    genericData: Generic,
    assignedGatekeeper: opt(AlternateGK),
  },
);

export const UnregistrationConfirm = seq(
  'UnregistrationConfirm',
  { requestSeqNum: RequestSeqNum, nonStandardData: opt(NonStandardParameter) },
  { tokens: opt(Tokens), cryptoTokens: opt(CryptoTokens), integrityCheckValue: opt(ICV), genericData: Generic, assignedGatekeeper: opt(AlternateGK) },
);

export const UnregRejectReason = choice(
  'UnregRejectReason',
  { notCurrentlyRegistered: NULL, callInProgress: NULL, undefinedReason: NULL },
  { permissionDenied: NULL, securityDenial: NULL, securityError: SecurityErrors2 },
);

/** The common shape of URJ, DRJ and friends: seq number, reason, nonStandardData, then altGKInfo and tokens. */
const rejectWithAltGK = (name: string, reason: ReturnType<typeof choice>): SeqType =>
  seq(
    name,
    { requestSeqNum: RequestSeqNum, rejectReason: reason, nonStandardData: opt(NonStandardParameter) },
    { altGKInfo: opt(AltGKInfo), tokens: opt(Tokens), cryptoTokens: opt(CryptoTokens), integrityCheckValue: opt(ICV), genericData: Generic },
  );

export const UnregistrationReject = rejectWithAltGK('UnregistrationReject', UnregRejectReason);

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
