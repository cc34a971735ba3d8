import {
  bitString,
  bmp,
  BOOLEAN,
  choice,
  int,
  NULL,
  nullChoice,
  OID,
  octets,
  open,
  opt,
  seq,
  seqOf,
  type AsnType,
  type SeqType,
} from '../per/types.js';

/**
 * H235-SECURITY-MESSAGES (H.235.0, 09/2005) as PER descriptions: the token types H.225.0 carries.
 * The parameterised SIGNED{} takes the type it signs; its `toBeSigned` is an open type
 * (TYPE-IDENTIFIER.&Type), so the signed bytes stay intact even if they do not decode.
 */

export const ChallengeString = octets(8, 128);
export const TimeStamp = int(1, 4294967295);
export const RandomVal = int();
export const Password = bmp(1, 128);
export const Identifier = bmp(1, 128);
export const KeyMaterial = bitString(1, 2048);

export const NonStandardParameter235 = seq('NonStandardParameter', { nonStandardIdentifier: OID, data: octets() });

export const DHset = seq('DHset', { halfkey: bitString(0, 2048), modSize: bitString(0, 2048), generator: bitString(0, 2048) }, {});

export const ECpoint = seq('ECpoint', { x: opt(bitString(0, 511)), y: opt(bitString(0, 511)) }, {});

const b511 = bitString(0, 511);
export const ECKASDH = choice(
  'ECKASDH',
  {
    eckasdhp: seq('eckasdhp', { 'public-key': ECpoint, modulus: b511, base: ECpoint, weierstrassA: b511, weierstrassB: b511 }),
    eckasdh2: seq('eckasdh2', { 'public-key': ECpoint, fieldSize: b511, base: ECpoint, weierstrassA: b511, weierstrassB: b511 }),
  },
  {},
);

export const TypedCertificate = seq('TypedCertificate', { type: OID, certificate: octets() }, {});

export const AuthenticationBES = nullChoice('AuthenticationBES', ['default', 'radius'], []);

export const AuthenticationMechanism = choice(
  'AuthenticationMechanism',
  { dhExch: NULL, pwdSymEnc: NULL, pwdHash: NULL, certSign: NULL, ipsec: NULL, tls: NULL, nonStandard: NonStandardParameter235 },
  { authenticationBES: AuthenticationBES, keyExch: OID },
);

export const Params = seq('Params', { ranInt: opt(int()), iv8: opt(octets(8)) }, { iv16: opt(octets(16)), iv: opt(octets()), clearSalt: opt(octets()) });

export const Element = choice('Element', { octets: octets(), integer: int(), bits: bitString(), name: bmp(), flag: BOOLEAN }, {});

export const ProfileElement = seq('ProfileElement', { elementID: int(0, 255), paramS: opt(Params), element: opt(Element) }, {});

export const ENCRYPTED = seq('ENCRYPTED', { algorithmOID: OID, paramS: Params, encryptedData: octets() });

export const HASHED = seq('HASHED', { algorithmOID: OID, paramS: Params, hash: bitString() });

export function SIGNED(toBeSigned: AsnType): SeqType {
  return seq('SIGNED', { toBeSigned: open(toBeSigned), algorithmOID: OID, paramS: Params, signature: bitString() });
}

export const KeySyncMaterial = seq('KeySyncMaterial', { generalID: Identifier, keyMaterial: KeyMaterial }, {});

export const KeySignedMaterial = seq('KeySignedMaterial', {
  generalId: Identifier,
  mrandom: RandomVal,
  srandom: opt(RandomVal),
  timeStamp: opt(TimeStamp),
  encrptval: ENCRYPTED,
});

export const V3KeySyncMaterial = seq(
  'V3KeySyncMaterial',
  {
    generalID: opt(Identifier),
    algorithmOID: opt(OID),
    paramS: Params,
    encryptedSessionKey: opt(octets()),
    encryptedSaltingKey: opt(octets()),
    clearSaltingKey: opt(octets()),
    paramSsalt: opt(Params),
    keyDerivationOID: opt(OID),
  },
  { genericKeyMaterial: opt(octets()) },
);

export const H235Key = choice(
  'H235Key',
  { secureChannel: KeyMaterial, sharedSecret: ENCRYPTED, certProtectedKey: SIGNED(KeySignedMaterial) },
  { secureSharedSecret: V3KeySyncMaterial },
);

export const ClearToken = seq(
  'ClearToken',
  {
    tokenOID: OID,
    timeStamp: opt(TimeStamp),
    password: opt(Password),
    dhkey: opt(DHset),
    challenge: opt(ChallengeString),
    random: opt(RandomVal),
    certificate: opt(TypedCertificate),
    generalID: opt(Identifier),
    nonStandard: opt(NonStandardParameter235),
  },
  { eckasdhkey: opt(ECKASDH), sendersID: opt(Identifier), h235Key: opt(H235Key), profileInfo: opt(seqOf(ProfileElement)) },
);

export const CryptoToken = choice(
  'CryptoToken',
  {
    cryptoEncryptedToken: seq('cryptoEncryptedToken', { tokenOID: OID, token: ENCRYPTED }),
    cryptoSignedToken: seq('cryptoSignedToken', { tokenOID: OID, token: SIGNED(ClearToken) }),
    cryptoHashedToken: seq('cryptoHashedToken', { tokenOID: OID, hashedVals: ClearToken, token: HASHED }),
    cryptoPwdEncr: ENCRYPTED,
  },
  {},
);
