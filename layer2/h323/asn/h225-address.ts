import { bmp, choice, enumerated, ia5, int, nullChoice, octets, OID, opt, seq, seqOf, type AsnType } from '../per/types.js';

/**
 * H323-MESSAGES (H.225.0 v7, 12/2009): identifiers, non-standard parameters, transport addresses,
 * party numbers and aliases, as PER descriptions.
 */

export const GloballyUniqueID = octets(16);
export const ConferenceIdentifier = GloballyUniqueID;
export const RequestSeqNum = int(1, 65535);
export const GatekeeperIdentifier = bmp(1, 128);
export const BandWidth = int(0, 4294967295);
export const CallReferenceValue = int(0, 65535);
export const EndpointIdentifier = bmp(1, 128);
export const ProtocolIdentifier = OID;
export const TimeToLive = int(1, 4294967295);
export const H248PackagesDescriptor = octets();
export const H248SignalsDescriptor = octets();

export const H221NonStandard = seq('H221NonStandard', { t35CountryCode: int(0, 255), t35Extension: int(0, 255), manufacturerCode: int(0, 65535) }, {});

export const NonStandardIdentifier = choice('NonStandardIdentifier', { object: OID, h221NonStandard: H221NonStandard }, {});

export const NonStandardParameter = seq('NonStandardParameter', { nonStandardIdentifier: NonStandardIdentifier, data: octets() });

export const TransportAddress = choice(
  'TransportAddress',
  {
    ipAddress: seq('ipAddress', { ip: octets(4), port: int(0, 65535) }),
    ipSourceRoute: seq(
      'ipSourceRoute',
      { ip: octets(4), port: int(0, 65535), route: seqOf(octets(4)), routing: nullChoice('routing', ['strict', 'loose'], []) },
      {},
    ),
    ipxAddress: seq('ipxAddress', { node: octets(6), netnum: octets(4), port: octets(2) }),
    ip6Address: seq('ip6Address', { ip: octets(16), port: int(0, 65535) }, {}),
    netBios: octets(16),
    nsap: octets(1, 20),
    nonStandardAddress: NonStandardParameter,
  },
  {},
);

const DIGITS = '0123456789#*,';
export const NumberDigits = ia5(1, 128, DIGITS);

export const PublicTypeOfNumber = nullChoice(
  'PublicTypeOfNumber',
  ['unknown', 'internationalNumber', 'nationalNumber', 'networkSpecificNumber', 'subscriberNumber', 'abbreviatedNumber'],
  [],
);

export const PrivateTypeOfNumber = nullChoice(
  'PrivateTypeOfNumber',
  ['unknown', 'level2RegionalNumber', 'level1RegionalNumber', 'pISNSpecificNumber', 'localNumber', 'abbreviatedNumber'],
  [],
);

export const PublicPartyNumber = seq('PublicPartyNumber', { publicTypeOfNumber: PublicTypeOfNumber, publicNumberDigits: NumberDigits });
export const PrivatePartyNumber = seq('PrivatePartyNumber', { privateTypeOfNumber: PrivateTypeOfNumber, privateNumberDigits: NumberDigits });

export const PartyNumber = choice(
  'PartyNumber',
  {
    e164Number: PublicPartyNumber,
    dataPartyNumber: NumberDigits,
    telexPartyNumber: NumberDigits,
    privateNumber: PrivatePartyNumber,
    nationalStandardPartyNumber: NumberDigits,
  },
  {},
);

const TBCD = (min: number, max?: number): AsnType => ia5(min, max, '0123456789#*abc');

export const ANSI41UIM = seq(
  'ANSI-41-UIM',
  {
    imsi: opt(TBCD(3, 16)),
    min: opt(TBCD(3, 16)),
    mdn: opt(TBCD(3, 16)),
    msisdn: opt(TBCD(3, 16)),
    esn: opt(TBCD(16)),
    mscid: opt(TBCD(3, 16)),
    'system-id': choice('system-id', { sid: TBCD(1, 4), mid: TBCD(1, 4) }, {}),
    systemMyTypeCode: opt(octets(1)),
    systemAccessType: opt(octets(1)),
    qualificationInformationCode: opt(octets(1)),
    sesn: opt(TBCD(16)),
    soc: opt(TBCD(3, 16)),
  },
  {},
);

export const GSMUIM = seq(
  'GSM-UIM',
  {
    imsi: opt(TBCD(3, 16)),
    tmsi: opt(octets(1, 4)),
    msisdn: opt(TBCD(3, 16)),
    imei: opt(TBCD(15, 16)),
    hplmn: opt(TBCD(1, 4)),
    vplmn: opt(TBCD(1, 4)),
  },
  {},
);

export const MobileUIM = choice('MobileUIM', { 'ansi-41-uim': ANSI41UIM, 'gsm-uim': GSMUIM }, {});

export const IsupDigits = ia5(1, 128, '0123456789ABCDE');

export const NatureOfAddress = nullChoice(
  'NatureOfAddress',
  [
    'unknown',
    'subscriberNumber',
    'nationalNumber',
    'internationalNumber',
    'networkSpecificNumber',
    'routingNumberNationalFormat',
    'routingNumberNetworkSpecificFormat',
    'routingNumberWithCalledDirectoryNumber',
  ],
  [],
);

export const IsupNumber = choice(
  'IsupNumber',
  {
    e164Number: seq('IsupPublicPartyNumber', { natureOfAddress: NatureOfAddress, address: IsupDigits }, {}),
    dataPartyNumber: IsupDigits,
    telexPartyNumber: IsupDigits,
    privateNumber: seq('IsupPrivatePartyNumber', { privateTypeOfNumber: PrivateTypeOfNumber, address: IsupDigits }, {}),
    nationalStandardPartyNumber: IsupDigits,
  },
  {},
);

export const AliasAddress = choice(
  'AliasAddress',
  { dialledDigits: ia5(1, 128, DIGITS), 'h323-ID': bmp(1, 256) },
  {
    'url-ID': ia5(1, 512),
    transportID: TransportAddress,
    'email-ID': ia5(1, 512),
    partyNumber: PartyNumber,
    mobileUIM: MobileUIM,
    isupNumber: IsupNumber,
  },
);

export const AddressPattern = choice(
  'AddressPattern',
  { wildcard: AliasAddress, range: seq('range', { startOfRange: PartyNumber, endOfRange: PartyNumber }) },
  {},
);

export const PresentationIndicator = nullChoice('PresentationIndicator', ['presentationAllowed', 'presentationRestricted', 'addressNotAvailable'], []);

export const ScreeningIndicator = enumerated(['userProvidedNotScreened', 'userProvidedVerifiedAndPassed', 'userProvidedVerifiedAndFailed', 'networkProvided'], []);

export const ExtendedAliasAddress = seq(
  'ExtendedAliasAddress',
  { address: AliasAddress, presentationIndicator: opt(PresentationIndicator), screeningIndicator: opt(ScreeningIndicator) },
  {},
);

export const DisplayName = seq('DisplayName', { language: opt(ia5()), name: bmp(1, 80) });
