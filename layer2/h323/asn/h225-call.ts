import { BOOLEAN, choice, ia5, int, NULL, nullChoice, octets, opt, seq, seqOf } from '../per/types.js';
import {
  AliasAddress,
  CallCapacity,
  CallIdentifier,
  CallLinkage,
  CallReferenceValue,
  CallType,
  CircuitInfo,
  ConferenceIdentifier,
  CryptoTokens,
  DisplayName,
  EndpointIdentifier,
  EndpointType,
  ExtendedAliasAddress,
  FeatureDescriptor,
  FeatureSet,
  GenericData,
  H245Security,
  NonStandardParameter,
  PresentationIndicator,
  ProtocolIdentifier,
  QseriesOptions,
  ScreeningIndicator,
  SecurityErrors,
  ServiceControlSession,
  SupportedProtocols,
  Tokens,
  TransportAddress,
  TunnelledProtocol,
} from './h225-common.js';

/**
 * H323-MESSAGES (H.225.0 v7): the call signalling part, `H323-UserInformation` as carried in the
 * Q.931 User-user information element, with every UUIE.
 */

const FastStart = seqOf(octets());
const Aliases = seqOf(AliasAddress);
const DisplayNames = seqOf(DisplayName);

export const ReleaseCompleteReason = choice(
  'ReleaseCompleteReason',
  {
    noBandwidth: NULL,
    gatekeeperResources: NULL,
    unreachableDestination: NULL,
    destinationRejection: NULL,
    invalidRevision: NULL,
    noPermission: NULL,
    unreachableGatekeeper: NULL,
    gatewayResources: NULL,
    badFormatAddress: NULL,
    adaptiveBusy: NULL,
    inConf: NULL,
    undefinedReason: NULL,
  },
  {
    facilityCallDeflection: NULL,
    securityDenied: NULL,
    calledPartyNotRegistered: NULL,
    callerNotRegistered: NULL,
    newConnectionNeeded: NULL,
    nonStandardReason: NonStandardParameter,
    replaceWithConferenceInvite: ConferenceIdentifier,
    genericDataReason: NULL,
    neededFeatureNotSupported: NULL,
    tunnelledSignallingRejected: NULL,
    invalidCID: NULL,
    securityError: SecurityErrors,
    hopCountExceeded: NULL,
  },
);

export const FacilityReason = nullChoice(
  'FacilityReason',
  ['routeCallToGatekeeper', 'callForwarded', 'routeCallToMC', 'undefinedReason'],
  ['conferenceListChoice', 'startH245', 'noH245', 'newTokens', 'featureSetUpdate', 'forwardedElements', 'transportedInformation'],
);

export const ScnConnectionType = nullChoice('ScnConnectionType', ['unknown', 'bChannel', 'hybrid2x64', 'hybrid384', 'hybrid1536', 'hybrid1920', 'multirate'], []);

export const ScnConnectionAggregation = nullChoice('ScnConnectionAggregation', ['auto', 'none', 'h221', 'bonded-mode1', 'bonded-mode2', 'bonded-mode3'], []);

export const SetupUUIE = seq(
  'Setup-UUIE',
  {
    protocolIdentifier: ProtocolIdentifier,
    h245Address: opt(TransportAddress),
    sourceAddress: opt(Aliases),
    sourceInfo: EndpointType,
    destinationAddress: opt(Aliases),
    destCallSignalAddress: opt(TransportAddress),
    destExtraCallInfo: opt(Aliases),
    destExtraCRV: opt(seqOf(CallReferenceValue)),
    activeMC: BOOLEAN,
    conferenceID: ConferenceIdentifier,
    conferenceGoal: nullChoice('conferenceGoal', ['create', 'join', 'invite'], ['capability-negotiation', 'callIndependentSupplementaryService']),
    callServices: opt(QseriesOptions),
    callType: CallType,
  },
  {
    sourceCallSignalAddress: opt(TransportAddress),
    remoteExtensionAddress: opt(AliasAddress),
    callIdentifier: CallIdentifier,
    h245SecurityCapability: opt(seqOf(H245Security)),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    fastStart: opt(FastStart),
    mediaWaitForConnect: BOOLEAN,
    canOverlapSend: BOOLEAN,
    endpointIdentifier: opt(EndpointIdentifier),
    multipleCalls: BOOLEAN,
    maintainConnection: BOOLEAN,
    connectionParameters: opt(
      seq('connectionParameters', { connectionType: ScnConnectionType, numberOfScnConnections: int(0, 65535), connectionAggregation: ScnConnectionAggregation }, {}),
    ),
    language: opt(seqOf(ia5(1, 32))),
    presentationIndicator: opt(PresentationIndicator),
    screeningIndicator: opt(ScreeningIndicator),
    serviceControl: opt(seqOf(ServiceControlSession)),
    symmetricOperationRequired: opt(NULL),
    capacity: opt(CallCapacity),
    circuitInfo: opt(CircuitInfo),
    desiredProtocols: opt(seqOf(SupportedProtocols)),
    neededFeatures: opt(seqOf(FeatureDescriptor)),
    desiredFeatures: opt(seqOf(FeatureDescriptor)),
    supportedFeatures: opt(seqOf(FeatureDescriptor)),
    parallelH245Control: opt(seqOf(octets())),
    additionalSourceAddresses: opt(seqOf(ExtendedAliasAddress)),
    hopCount: opt(int(1, 31)),
    displayName: opt(DisplayNames),
  },
);

export const CallProceedingUUIE = seq(
  'CallProceeding-UUIE',
  { protocolIdentifier: ProtocolIdentifier, destinationInfo: EndpointType, h245Address: opt(TransportAddress) },
  {
    callIdentifier: CallIdentifier,
    h245SecurityMode: opt(H245Security),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    fastStart: opt(FastStart),
    multipleCalls: BOOLEAN,
    maintainConnection: BOOLEAN,
    fastConnectRefused: opt(NULL),
    featureSet: opt(FeatureSet),
  },
);

export const ConnectUUIE = seq(
  'Connect-UUIE',
  { protocolIdentifier: ProtocolIdentifier, h245Address: opt(TransportAddress), destinationInfo: EndpointType, conferenceID: ConferenceIdentifier },
  {
    callIdentifier: CallIdentifier,
    h245SecurityMode: opt(H245Security),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    fastStart: opt(FastStart),
    multipleCalls: BOOLEAN,
    maintainConnection: BOOLEAN,
    language: opt(seqOf(ia5(1, 32))),
    connectedAddress: opt(Aliases),
    presentationIndicator: opt(PresentationIndicator),
    screeningIndicator: opt(ScreeningIndicator),
    fastConnectRefused: opt(NULL),
    serviceControl: opt(seqOf(ServiceControlSession)),
    capacity: opt(CallCapacity),
    featureSet: opt(FeatureSet),
    displayName: opt(DisplayNames),
  },
);

export const AlertingUUIE = seq(
  'Alerting-UUIE',
  { protocolIdentifier: ProtocolIdentifier, destinationInfo: EndpointType, h245Address: opt(TransportAddress) },
  {
    callIdentifier: CallIdentifier,
    h245SecurityMode: opt(H245Security),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    fastStart: opt(FastStart),
    multipleCalls: BOOLEAN,
    maintainConnection: BOOLEAN,
    alertingAddress: opt(Aliases),
    presentationIndicator: opt(PresentationIndicator),
    screeningIndicator: opt(ScreeningIndicator),
    fastConnectRefused: opt(NULL),
    serviceControl: opt(seqOf(ServiceControlSession)),
    capacity: opt(CallCapacity),
    featureSet: opt(FeatureSet),
    displayName: opt(DisplayNames),
  },
);

export const InformationUUIE = seq(
  'Information-UUIE',
  { protocolIdentifier: ProtocolIdentifier },
  {
    callIdentifier: CallIdentifier,
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    fastStart: opt(FastStart),
    fastConnectRefused: opt(NULL),
    circuitInfo: opt(CircuitInfo),
  },
);

export const ReleaseCompleteUUIE = seq(
  'ReleaseComplete-UUIE',
  { protocolIdentifier: ProtocolIdentifier, reason: opt(ReleaseCompleteReason) },
  {
    callIdentifier: CallIdentifier,
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    busyAddress: opt(Aliases),
    presentationIndicator: opt(PresentationIndicator),
    screeningIndicator: opt(ScreeningIndicator),
    capacity: opt(CallCapacity),
    serviceControl: opt(seqOf(ServiceControlSession)),
    featureSet: opt(FeatureSet),
    destinationInfo: opt(EndpointType),
    displayName: opt(DisplayNames),
  },
);

export const ConferenceList = seq(
  'ConferenceList',
  { conferenceID: opt(ConferenceIdentifier), conferenceAlias: opt(AliasAddress), nonStandardData: opt(NonStandardParameter) },
  {},
);

export const FacilityUUIE = seq(
  'Facility-UUIE',
  {
    protocolIdentifier: ProtocolIdentifier,
    alternativeAddress: opt(TransportAddress),
    alternativeAliasAddress: opt(Aliases),
    conferenceID: opt(ConferenceIdentifier),
    reason: FacilityReason,
  },
  {
    callIdentifier: CallIdentifier,
    destExtraCallInfo: opt(Aliases),
    remoteExtensionAddress: opt(AliasAddress),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    conferences: opt(seqOf(ConferenceList)),
    h245Address: opt(TransportAddress),
    fastStart: opt(FastStart),
    multipleCalls: BOOLEAN,
    maintainConnection: BOOLEAN,
    fastConnectRefused: opt(NULL),
    serviceControl: opt(seqOf(ServiceControlSession)),
    circuitInfo: opt(CircuitInfo),
    featureSet: opt(FeatureSet),
    destinationInfo: opt(EndpointType),
    h245SecurityMode: opt(H245Security),
  },
);

export const ProgressUUIE = seq(
  'Progress-UUIE',
  {
    protocolIdentifier: ProtocolIdentifier,
    destinationInfo: EndpointType,
    h245Address: opt(TransportAddress),
    callIdentifier: CallIdentifier,
    h245SecurityMode: opt(H245Security),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    fastStart: opt(FastStart),
  },
  { multipleCalls: BOOLEAN, maintainConnection: BOOLEAN, fastConnectRefused: opt(NULL) },
);

const shortUUIE = (name: string) =>
  seq(name, { protocolIdentifier: ProtocolIdentifier, callIdentifier: CallIdentifier, tokens: opt(Tokens), cryptoTokens: opt(CryptoTokens) }, {});

export const StatusUUIE = shortUUIE('Status-UUIE');
export const StatusInquiryUUIE = shortUUIE('StatusInquiry-UUIE');
export const SetupAcknowledgeUUIE = shortUUIE('SetupAcknowledge-UUIE');

export const NotifyUUIE = seq(
  'Notify-UUIE',
  { protocolIdentifier: ProtocolIdentifier, callIdentifier: CallIdentifier, tokens: opt(Tokens), cryptoTokens: opt(CryptoTokens) },
  {
    connectedAddress: opt(Aliases),
    presentationIndicator: opt(PresentationIndicator),
    screeningIndicator: opt(ScreeningIndicator),
    destinationInfo: opt(EndpointType),
    displayName: opt(DisplayNames),
  },
);

export const StimulusControl = seq('StimulusControl', { nonStandard: opt(NonStandardParameter), isText: opt(NULL), h248Message: opt(octets()) }, {});

export const H323MessageBody = choice(
  'h323-message-body',
  {
    setup: SetupUUIE,
    callProceeding: CallProceedingUUIE,
    connect: ConnectUUIE,
    alerting: AlertingUUIE,
    information: InformationUUIE,
    releaseComplete: ReleaseCompleteUUIE,
    facility: FacilityUUIE,
  },
  {
    progress: ProgressUUIE,
    empty: NULL,
    status: StatusUUIE,
    statusInquiry: StatusInquiryUUIE,
    setupAcknowledge: SetupAcknowledgeUUIE,
    notify: NotifyUUIE,
  },
);

export const H323UUPDU = seq(
  'H323-UU-PDU',
  { 'h323-message-body': H323MessageBody, nonStandardData: opt(NonStandardParameter) },
  {
    h4501SupplementaryService: opt(seqOf(octets())),
    h245Tunnelling: BOOLEAN,
    h245Control: opt(seqOf(octets())),
    nonStandardControl: opt(seqOf(NonStandardParameter)),
    callLinkage: opt(CallLinkage),
    tunnelledSignallingMessage: opt(
      seq(
        'tunnelledSignallingMessage',
        { tunnelledProtocolID: TunnelledProtocol, messageContent: seqOf(octets()), tunnellingRequired: opt(NULL), nonStandardData: opt(NonStandardParameter) },
        {},
      ),
    ),
    provisionalRespToH245Tunnelling: opt(NULL),
    stimulusControl: opt(StimulusControl),
    genericData: opt(seqOf(GenericData)),
  },
);

export const H323UserInformation = seq(
  'H323-UserInformation',
  {
    'h323-uu-pdu': H323UUPDU,
    'user-data': opt(seq('user-data', { 'protocol-discriminator': int(0, 255), 'user-information': octets(1, 131) }, {})),
  },
  {},
);
