import {
  bitString,
  bmp,
  BOOLEAN,
  choice,
  ia5,
  int,
  lazy,
  NULL,
  nullChoice,
  octets,
  OID,
  opaque,
  opt,
  printable,
  seq,
  seqOf,
  type AsnType,
  type SeqType,
} from '../per/types.js';
import { ClearToken, CryptoToken, ENCRYPTED, HASHED, SIGNED, TimeStamp } from './h235.js';
import {
  AliasAddress,
  BandWidth,
  GatekeeperIdentifier,
  GloballyUniqueID,
  H221NonStandard,
  H248SignalsDescriptor,
  NonStandardParameter,
  TransportAddress,
} from './h225-address.js';

/**
 * H323-MESSAGES (H.225.0 v7, 12/2009), common message elements, as PER descriptions. Component
 * names, order, OPTIONAL marks, extension markers and constraints follow the ASN.1 module exactly;
 * the call signalling and RAS messages are in `h225-call.ts` and `h225-ras.ts`.
 */

export * from './h225-address.js';

export const GenericIdentifier = choice('GenericIdentifier', { standard: int(0, 16383, true), oid: OID, nonStandard: GloballyUniqueID }, {});

const GenericDataRef = lazy('GenericData', () => GenericData);
const EnumeratedParameterRef = lazy('EnumeratedParameter', () => EnumeratedParameter);

export const Content: AsnType = choice(
  'Content',
  {
    raw: octets(),
    text: ia5(),
    unicode: bmp(),
    bool: BOOLEAN,
    number8: int(0, 255),
    number16: int(0, 65535),
    number32: int(0, 4294967295),
    id: GenericIdentifier,
    alias: AliasAddress,
    transport: TransportAddress,
    compound: seqOf(EnumeratedParameterRef, 1, 512),
    nested: seqOf(GenericDataRef, 1, 16),
  },
  {},
);

export const EnumeratedParameter: SeqType = seq('EnumeratedParameter', { id: GenericIdentifier, content: opt(Content) }, {});

export const GenericData: SeqType = seq('GenericData', { id: GenericIdentifier, parameters: opt(seqOf(EnumeratedParameter, 1, 512)) }, {});

export const FeatureDescriptor = GenericData;

export const FeatureSet = seq(
  'FeatureSet',
  {
    replacementFeatureSet: BOOLEAN,
    neededFeatures: opt(seqOf(FeatureDescriptor)),
    desiredFeatures: opt(seqOf(FeatureDescriptor)),
    supportedFeatures: opt(seqOf(FeatureDescriptor)),
  },
  {},
);

export const DataRate = seq('DataRate', { nonStandardData: opt(NonStandardParameter), channelRate: BandWidth, channelMultiplier: opt(int(1, 256)) }, {});

export const SupportedPrefix = seq('SupportedPrefix', { nonStandardData: opt(NonStandardParameter), prefix: AliasAddress }, {});

/** H310Caps … T120OnlyCaps share one shape. */
const caps = (name: string): SeqType =>
  seq(name, { nonStandardData: opt(NonStandardParameter) }, { dataRatesSupported: opt(seqOf(DataRate)), supportedPrefixes: seqOf(SupportedPrefix) });

export const SupportedProtocols = choice(
  'SupportedProtocols',
  {
    nonStandardData: NonStandardParameter,
    h310: caps('H310Caps'),
    h320: caps('H320Caps'),
    h321: caps('H321Caps'),
    h322: caps('H322Caps'),
    h323: caps('H323Caps'),
    h324: caps('H324Caps'),
    voice: caps('VoiceCaps'),
    't120-only': caps('T120OnlyCaps'),
  },
  {
    nonStandardProtocol: seq(
      'NonStandardProtocol',
      { nonStandardData: opt(NonStandardParameter), dataRatesSupported: opt(seqOf(DataRate)), supportedPrefixes: seqOf(SupportedPrefix) },
      {},
    ),
    // Holds H.245 DataProtocolCapability and T38FaxProfile, which are not described here.
    t38FaxAnnexbOnly: opaque('T38FaxAnnexbOnlyCaps'),
    sip: seq(
      'SIPCaps',
      { nonStandardData: opt(NonStandardParameter), dataRatesSupported: opt(seqOf(DataRate)), supportedPrefixes: opt(seqOf(SupportedPrefix)) },
      {},
    ),
  },
);

export const TunnelledProtocol = seq(
  'TunnelledProtocol',
  {
    id: choice(
      'id',
      {
        tunnelledProtocolObjectID: OID,
        tunnelledProtocolAlternateID: seq('TunnelledProtocolAlternateIdentifier', { protocolType: ia5(1, 64), protocolVariant: opt(ia5(1, 64)) }, {}),
      },
      {},
    ),
    subIdentifier: opt(ia5(1, 64)),
  },
  {},
);

export const GatewayInfo = seq('GatewayInfo', { protocol: opt(seqOf(SupportedProtocols)), nonStandardData: opt(NonStandardParameter) }, {});
export const McuInfo = seq('McuInfo', { nonStandardData: opt(NonStandardParameter) }, { protocol: opt(seqOf(SupportedProtocols)) });
export const TerminalInfo = seq('TerminalInfo', { nonStandardData: opt(NonStandardParameter) }, {});
export const GatekeeperInfo = seq('GatekeeperInfo', { nonStandardData: opt(NonStandardParameter) }, {});

export const VendorIdentifier = seq(
  'VendorIdentifier',
  { vendor: H221NonStandard, productId: opt(octets(1, 256)), versionId: opt(octets(1, 256)) },
  { enterpriseNumber: opt(OID) },
);

export const EndpointType = seq(
  'EndpointType',
  {
    nonStandardData: opt(NonStandardParameter),
    vendor: opt(VendorIdentifier),
    gatekeeper: opt(GatekeeperInfo),
    gateway: opt(GatewayInfo),
    mcu: opt(McuInfo),
    terminal: opt(TerminalInfo),
    mc: BOOLEAN,
    undefinedNode: BOOLEAN,
  },
  { set: opt(bitString(32)), supportedTunnelledProtocols: opt(seqOf(TunnelledProtocol)) },
);

export const SecurityServiceMode = choice('SecurityServiceMode', { nonStandard: NonStandardParameter, none: NULL, default: NULL }, {});

export const SecurityCapabilities = seq(
  'SecurityCapabilities',
  { nonStandard: opt(NonStandardParameter), encryption: SecurityServiceMode, authenticaton: SecurityServiceMode, integrity: SecurityServiceMode },
  {},
);

export const SecurityErrors = nullChoice(
  'SecurityErrors',
  [
    'securityWrongSyncTime',
    'securityReplay',
    'securityWrongGeneralID',
    'securityWrongSendersID',
    'securityIntegrityFailed',
    'securityWrongOID',
    'securityDHmismatch',
    'securityCertificateExpired',
    'securityCertificateDateInvalid',
    'securityCertificateRevoked',
    'securityCertificateNotReadable',
    'securityCertificateSignatureInvalid',
    'securityCertificateMissing',
    'securityCertificateIncomplete',
    'securityUnsupportedCertificateAlgOID',
    'securityUnknownCA',
  ],
  [],
);

export const SecurityErrors2 = nullChoice(
  'SecurityErrors2',
  ['securityWrongSyncTime', 'securityReplay', 'securityWrongGeneralID', 'securityWrongSendersID', 'securityIntegrityFailed', 'securityWrongOID'],
  [],
);

export const H245Security = choice('H245Security', { nonStandard: NonStandardParameter, noSecurity: NULL, tls: SecurityCapabilities, ipsec: SecurityCapabilities }, {});

export const Q954Details = seq('Q954Details', { conferenceCalling: BOOLEAN, threePartyService: BOOLEAN }, {});

export const QseriesOptions = seq(
  'QseriesOptions',
  {
    q932Full: BOOLEAN,
    q951Full: BOOLEAN,
    q952Full: BOOLEAN,
    q953Full: BOOLEAN,
    q955Full: BOOLEAN,
    q956Full: BOOLEAN,
    q957Full: BOOLEAN,
    q954Info: Q954Details,
  },
  {},
);

export const CallIdentifier = seq('CallIdentifier', { guid: GloballyUniqueID }, {});

export const CryptoH323Token = choice(
  'CryptoH323Token',
  {
    cryptoEPPwdHash: seq('cryptoEPPwdHash', { alias: AliasAddress, timeStamp: TimeStamp, token: HASHED }),
    cryptoGKPwdHash: seq('cryptoGKPwdHash', { gatekeeperId: GatekeeperIdentifier, timeStamp: TimeStamp, token: HASHED }),
    cryptoEPPwdEncr: ENCRYPTED,
    cryptoGKPwdEncr: ENCRYPTED,
    cryptoEPCert: SIGNED(ClearToken),
    cryptoGKCert: SIGNED(ClearToken),
    cryptoFastStart: SIGNED(ClearToken),
    nestedcryptoToken: CryptoToken,
  },
  {},
);

export const Tokens = seqOf(ClearToken);
export const CryptoTokens = seqOf(CryptoH323Token);

export const EncryptIntAlg = choice('EncryptIntAlg', { nonStandard: NonStandardParameter, isoAlgorithm: OID }, {});

export const NonIsoIntegrityMechanism = choice(
  'NonIsoIntegrityMechanism',
  { 'hMAC-MD5': NULL, 'hMAC-iso10118-2-s': EncryptIntAlg, 'hMAC-iso10118-2-l': EncryptIntAlg, 'hMAC-iso10118-3': OID },
  {},
);

export const IntegrityMechanism = choice(
  'IntegrityMechanism',
  { nonStandard: NonStandardParameter, digSig: NULL, iso9797: OID, nonIsoIM: NonIsoIntegrityMechanism },
  {},
);

export const ICV = seq('ICV', { algorithmOID: OID, icv: bitString() });

export const CallLinkage = seq('CallLinkage', { globalCallId: opt(GloballyUniqueID), threadId: opt(GloballyUniqueID) }, {});

export const CapacityReportingCapability = seq('CapacityReportingCapability', { canReportCallCapacity: BOOLEAN }, {});

export const CapacityReportingSpecification = seq(
  'CapacityReportingSpecification',
  { when: seq('when', { callStart: opt(NULL), callEnd: opt(NULL) }, {}) },
  {},
);

export const CarrierInfo = seq('CarrierInfo', { carrierIdentificationCode: opt(octets(3, 4)), carrierName: opt(ia5(1, 128)) }, {});

export const CallsAvailable = seq('CallsAvailable', { calls: int(0, 4294967295), group: opt(ia5(1, 128)) }, { carrier: opt(CarrierInfo) });

const calls = opt(seqOf(CallsAvailable));
export const CallCapacityInfo = seq(
  'CallCapacityInfo',
  {
    voiceGwCallsAvailable: calls,
    h310GwCallsAvailable: calls,
    h320GwCallsAvailable: calls,
    h321GwCallsAvailable: calls,
    h322GwCallsAvailable: calls,
    h323GwCallsAvailable: calls,
    h324GwCallsAvailable: calls,
    t120OnlyGwCallsAvailable: calls,
    t38FaxAnnexbOnlyGwCallsAvailable: calls,
    terminalCallsAvailable: calls,
    mcuCallsAvailable: calls,
  },
  { sipGwCallsAvailable: calls },
);

export const CallCapacity = seq('CallCapacity', { maximumCallCapacity: opt(CallCapacityInfo), currentCallCapacity: opt(CallCapacityInfo) }, {});

export const CicInfo = seq('CicInfo', { cic: seqOf(octets(2, 4)), pointCode: octets(2, 5) }, {});

export const GroupID = seq('GroupID', { member: opt(seqOf(int(0, 65535))), group: ia5(1, 128) }, {});

export const CircuitIdentifier = seq('CircuitIdentifier', { cic: opt(CicInfo), group: opt(GroupID) }, { carrier: opt(CarrierInfo) });

export const CircuitInfo = seq(
  'CircuitInfo',
  { sourceCircuitID: opt(CircuitIdentifier), destinationCircuitID: opt(CircuitIdentifier), genericData: opt(seqOf(GenericData)) },
  {},
);

export const CallCreditServiceControl = seq(
  'CallCreditServiceControl',
  {
    amountString: opt(bmp(1, 512)),
    billingMode: opt(nullChoice('billingMode', ['credit', 'debit'], [])),
    callDurationLimit: opt(int(1, 4294967295)),
    enforceCallDurationLimit: opt(BOOLEAN),
    callStartingPoint: opt(nullChoice('callStartingPoint', ['alerting', 'connect'], [])),
  },
  {},
);

export const ServiceControlDescriptor = choice(
  'ServiceControlDescriptor',
  { url: ia5(0, 512), signal: H248SignalsDescriptor, nonStandard: NonStandardParameter, callCreditServiceControl: CallCreditServiceControl },
  {},
);

export const ServiceControlSession = seq(
  'ServiceControlSession',
  { sessionId: int(0, 255), contents: opt(ServiceControlDescriptor), reason: nullChoice('reason', ['open', 'refresh', 'close'], []) },
  {},
);

export const RasUsageInfoTypes = seq(
  'RasUsageInfoTypes',
  { nonStandardUsageTypes: seqOf(NonStandardParameter), startTime: opt(NULL), endTime: opt(NULL), terminationCause: opt(NULL) },
  {},
);

export const RasUsageSpecification = seq(
  'RasUsageSpecification',
  {
    when: seq('when', { start: opt(NULL), end: opt(NULL), inIrr: opt(NULL) }, {}),
    callStartingPoint: opt(seq('callStartingPoint', { alerting: opt(NULL), connect: opt(NULL) }, {})),
    required: RasUsageInfoTypes,
  },
  {},
);

export const RasUsageInformation = seq(
  'RasUsageInformation',
  { nonStandardUsageFields: seqOf(NonStandardParameter), alertingTime: opt(TimeStamp), connectTime: opt(TimeStamp), endTime: opt(TimeStamp) },
  {},
);

export const TransportChannelInfo = seq('TransportChannelInfo', { sendAddress: opt(TransportAddress), recvAddress: opt(TransportAddress) }, {});

export const BandwidthDetails = seq('BandwidthDetails', { sender: BOOLEAN, multicast: BOOLEAN, bandwidth: BandWidth, rtcpAddresses: TransportChannelInfo }, {});

export const CallCreditCapability = seq('CallCreditCapability', { canDisplayAmountString: opt(BOOLEAN), canEnforceDurationLimit: opt(BOOLEAN) }, {});

export const RTPSession = seq(
  'RTPSession',
  {
    rtpAddress: TransportChannelInfo,
    rtcpAddress: TransportChannelInfo,
    cname: printable(),
    ssrc: int(1, 4294967295),
    sessionId: int(1, 255),
    associatedSessionIds: seqOf(int(1, 255)),
  },
  { multicast: opt(NULL), bandwidth: opt(BandWidth) },
);

export const RehomingModel = nullChoice('RehomingModel', ['gatekeeperBased', 'endpointBased']);

export const AlternateTransportAddresses = seq('AlternateTransportAddresses', { annexE: opt(seqOf(TransportAddress)) }, { sctp: opt(seqOf(TransportAddress)) });

export const UseSpecifiedTransport = nullChoice('UseSpecifiedTransport', ['tcp', 'annexE'], ['sctp']);

export const Endpoint = seq(
  'Endpoint',
  {
    nonStandardData: opt(NonStandardParameter),
    aliasAddress: opt(seqOf(AliasAddress)),
    callSignalAddress: opt(seqOf(TransportAddress)),
    rasAddress: opt(seqOf(TransportAddress)),
    endpointType: opt(EndpointType),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    priority: opt(int(0, 127)),
    remoteExtensionAddress: opt(seqOf(AliasAddress)),
    destExtraCallInfo: opt(seqOf(AliasAddress)),
  },
  { alternateTransportAddresses: opt(AlternateTransportAddresses), circuitInfo: opt(CircuitInfo), featureSet: opt(FeatureSet) },
);

export const AlternateGK = seq(
  'AlternateGK',
  { rasAddress: TransportAddress, gatekeeperIdentifier: opt(GatekeeperIdentifier), needToRegister: BOOLEAN, priority: int(0, 127) },
  {},
);

export const AltGKInfo = seq('AltGKInfo', { alternateGatekeeper: seqOf(AlternateGK), altGKisPermanent: BOOLEAN }, {});

export const CallType = nullChoice('CallType', ['pointToPoint', 'oneToN', 'nToOne', 'nToN'], []);

export const CallModel = nullChoice('CallModel', ['direct', 'gatekeeperRouted'], []);

export const TransportQOS = choice(
  'TransportQOS',
  { endpointControlled: NULL, gatekeeperControlled: NULL, noControl: NULL },
  // SEQUENCE SIZE (1..256) OF H.245 QOSCapability, which is not described here.
  { qOSCapabilities: opaque('qOSCapabilities') },
);
