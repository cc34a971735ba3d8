import { BOOLEAN, choice, ia5, int, NULL, OID, opt, seq, seqOf, type SeqType } from '../per/types.js';
import { AuthenticationMechanism } from './h235.js';
import {
  AddressPattern,
  AliasAddress,
  AlternateGK,
  AlternateTransportAddresses,
  AltGKInfo,
  BandWidth,
  CallCapacity,
  CallCreditCapability,
  CapacityReportingCapability,
  CapacityReportingSpecification,
  CryptoTokens,
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
  ProtocolIdentifier,
  QseriesOptions,
  RasUsageInfoTypes,
  RasUsageSpecification,
  RehomingModel,
  RequestSeqNum,
  SecurityErrors,
  SecurityErrors2,
  ServiceControlSession,
  SupportedPrefix,
  TimeToLive,
  Tokens,
  TransportAddress,
  TransportQOS,
  UseSpecifiedTransport,
  VendorIdentifier,
} from './h225-common.js';

/** H323-MESSAGES (H.225.0 v7) RAS: gatekeeper discovery, registration and unregistration (GRQ … URJ). */

const Aliases = seqOf(AliasAddress);
const Addresses = seqOf(TransportAddress);
const Generic = opt(seqOf(GenericData));
const Languages = opt(seqOf(ia5(1, 32)));

/** The common shape of URJ, DRJ and friends: seq number, reason, nonStandardData, then altGKInfo and tokens. */
export const rejectWithAltGK = (name: string, reason: ReturnType<typeof choice>): SeqType =>
  seq(
    name,
    { requestSeqNum: RequestSeqNum, rejectReason: reason, nonStandardData: opt(NonStandardParameter) },
    { altGKInfo: opt(AltGKInfo), tokens: opt(Tokens), cryptoTokens: opt(CryptoTokens), integrityCheckValue: opt(ICV), genericData: Generic },
  );

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

export const UnregistrationReject = rejectWithAltGK('UnregistrationReject', UnregRejectReason);
