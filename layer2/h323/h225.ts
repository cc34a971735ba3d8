import { randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { v6Text } from '../../shared/net/prefix.js';
import { H323UserInformation as UserInformationType } from './asn/h225-call.js';
import { H323Err, perError } from './errors.js';
import { perDecodeAt, perEncode, type DecodeOptions } from './per/codec.js';
import type { PerBitString, PerChoice, PerObject, PerValue, UnknownAddition } from './per/types.js';

/**
 * H.225.0 values as the PER engine produces them, typed for the fields the appliance reads or
 * writes. Every other field is still there (index signatures) and goes back out unchanged.
 */

type Rest = { [name: string]: PerValue | undefined; _unknown?: UnknownAddition[]; _extCount?: number };

export type TransportAddress = PerChoice;
export type AliasAddress = PerChoice;

export type H221NonStandard = Rest & { t35CountryCode: number; t35Extension: number; manufacturerCode: number };
export type VendorIdentifier = Rest & { vendor: H221NonStandard; productId?: Buffer; versionId?: Buffer; enterpriseNumber?: string };
export type EndpointType = Rest & {
  nonStandardData?: PerObject;
  vendor?: VendorIdentifier;
  gatekeeper?: PerObject;
  gateway?: PerObject;
  mcu?: PerObject;
  terminal?: PerObject;
  mc: boolean;
  undefinedNode: boolean;
  set?: PerBitString;
};
export type CallIdentifier = Rest & { guid: Buffer };

export type SetupUUIE = Rest & {
  protocolIdentifier: string;
  h245Address?: TransportAddress;
  sourceAddress?: AliasAddress[];
  sourceInfo: EndpointType;
  destinationAddress?: AliasAddress[];
  destCallSignalAddress?: TransportAddress;
  destExtraCallInfo?: AliasAddress[];
  activeMC: boolean;
  conferenceID: Buffer;
  conferenceGoal: PerChoice;
  callType: PerChoice;
  sourceCallSignalAddress?: TransportAddress;
  callIdentifier?: CallIdentifier;
  fastStart?: Buffer[];
  mediaWaitForConnect?: boolean;
  canOverlapSend?: boolean;
  multipleCalls?: boolean;
  maintainConnection?: boolean;
};

type Answer = Rest & {
  protocolIdentifier: string;
  destinationInfo: EndpointType;
  h245Address?: TransportAddress;
  callIdentifier?: CallIdentifier;
  fastStart?: Buffer[];
  multipleCalls?: boolean;
  maintainConnection?: boolean;
};
export type CallProceedingUUIE = Answer;
export type AlertingUUIE = Answer;
export type ProgressUUIE = Answer;
export type ConnectUUIE = Answer & { conferenceID: Buffer };
export type InformationUUIE = Rest & { protocolIdentifier: string; callIdentifier?: CallIdentifier };
export type ReleaseCompleteUUIE = Rest & { protocolIdentifier: string; reason?: PerChoice; callIdentifier?: CallIdentifier };
export type FacilityUUIE = Rest & {
  protocolIdentifier: string;
  alternativeAddress?: TransportAddress;
  alternativeAliasAddress?: AliasAddress[];
  conferenceID?: Buffer;
  reason: PerChoice;
  callIdentifier?: CallIdentifier;
  multipleCalls?: boolean;
  maintainConnection?: boolean;
};
export type ShortUUIE = Rest & { protocolIdentifier: string; callIdentifier: CallIdentifier };

export type MessageBody =
  | { choice: 'setup'; value: SetupUUIE }
  | { choice: 'callProceeding'; value: CallProceedingUUIE }
  | { choice: 'connect'; value: ConnectUUIE }
  | { choice: 'alerting'; value: AlertingUUIE }
  | { choice: 'information'; value: InformationUUIE }
  | { choice: 'releaseComplete'; value: ReleaseCompleteUUIE }
  | { choice: 'facility'; value: FacilityUUIE }
  | { choice: 'progress'; value: ProgressUUIE }
  | { choice: 'empty'; value: null }
  | { choice: 'status' | 'statusInquiry' | 'setupAcknowledge' | 'notify'; value: ShortUUIE }
  | { choice: '_unknown'; index: number; value: Buffer };

export type H323UUPDU = Rest & {
  'h323-message-body': MessageBody;
  nonStandardData?: PerObject;
  h4501SupplementaryService?: Buffer[];
  h245Tunnelling?: boolean;
  h245Control?: Buffer[];
};

export type H323UserInformation = Rest & { 'h323-uu-pdu': H323UUPDU; 'user-data'?: PerObject };

/** The H.225.0 version N of a protocol identifier 0.0.8.2250.0.N (0 when it is not one). */
export function protocolVersion(oid: string): number {
  const m = /^0\.0\.8\.2250\.0\.(\d+)$/.exec(oid);
  return m ? Number(m[1]) : 0;
}

export const protocolIdentifier = (version: number): string => `0.0.8.2250.0.${version}`;

/** Decode the PER part of a User-user IE. Returns the value and the octets it used. */
export function decodeUserInformation(bytes: Buffer, opts: DecodeOptions = {}): { value: H323UserInformation; end: number } {
  const { value, end } = perDecodeAt(UserInformationType, bytes, 0, opts);
  return { value: value as H323UserInformation, end };
}

export function encodeUserInformation(v: H323UserInformation): Buffer {
  return perEncode(UserInformationType, v);
}

/** 16 random octets for a call identifier or conference identifier. */
export const newGuid = (): Buffer => randomBytes(16);

/** The canonical 8-4-4-4-12 hex form of a 16-octet identifier. */
export function guidToString(b: Buffer): string {
  const h = b.toString('hex');
  return h.length !== 32 ? h : `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function guidFromString(s: string): Buffer {
  const h = s.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(h)) throw perError(H323Err.PerEncode, `'${s}' is not a 16-octet identifier`);
  return Buffer.from(h, 'hex');
}

/** A TransportAddress for `ip` (IPv4 or IPv6) and `port`. */
export function transportAddress(ip: string, port: number): TransportAddress {
  if (isIPv4(ip)) return { choice: 'ipAddress', value: { ip: Buffer.from(ip.split('.').map(Number)), port } };
  if (isIPv6(ip)) return { choice: 'ip6Address', value: { ip: ipv6Bytes(ip), port } };
  throw perError(H323Err.PerEncode, `'${ip}' is not an IP address`);
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const parse = (s: string | undefined): number[] => (s ? s.split(':').flatMap((g) => (g.includes('.') ? v4Groups(g) : [parseInt(g, 16)])) : []);
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

function v4Groups(s: string): number[] {
  const b = s.split('.').map(Number);
  return [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
}

/** `ip:port` ("[v6]:port" for IPv6) of an ipAddress/ip6Address TransportAddress, else undefined. */
export function transportToString(t: TransportAddress | undefined): string | undefined {
  const a = transportIp(t);
  return a && (a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`);
}

export function transportIp(t: TransportAddress | undefined): { ip: string; port: number } | undefined {
  if (!t || (t.choice !== 'ipAddress' && t.choice !== 'ip6Address' && t.choice !== 'ipSourceRoute')) return undefined;
  const v = t.value as { ip?: PerValue; port?: PerValue };
  if (!Buffer.isBuffer(v.ip) || typeof v.port !== 'number') return undefined;
  if (v.ip.length === 4) return { ip: [...v.ip].join('.'), port: v.port };
  if (v.ip.length !== 16) return undefined;
  return { ip: v6Text(v.ip), port: v.port };
}


export const dialledDigits = (digits: string): AliasAddress => ({ choice: 'dialledDigits', value: digits });
export const h323Id = (id: string): AliasAddress => ({ choice: 'h323-ID', value: id });
export const urlId = (url: string): AliasAddress => ({ choice: 'url-ID', value: url });
export const emailId = (email: string): AliasAddress => ({ choice: 'email-ID', value: email });

/** An alias as `{ type, value }` text for logs, identification and the decode command. */
export interface AliasText {
  type: string;
  value: string;
}

export function aliasToText(a: AliasAddress): AliasText {
  switch (a.choice) {
    case 'dialledDigits':
    case 'h323-ID':
    case 'url-ID':
    case 'email-ID':
      return { type: a.choice, value: String(a.value) };
    case 'transportID':
      return { type: a.choice, value: transportToString(a.value as TransportAddress) ?? a.choice };
    case 'partyNumber': {
      const p = a.value as PerChoice;
      const v = p.value as PerObject | string;
      const digits = typeof v === 'string' ? v : String(v.publicNumberDigits ?? v.privateNumberDigits ?? '');
      return { type: 'partyNumber', value: digits };
    }
    case '_unknown':
      return { type: `extension ${String(a.index)}`, value: Buffer.isBuffer(a.value) ? a.value.toString('hex') : '' };
    default:
      return { type: a.choice, value: '' };
  }
}

/** The call identifier GUID of any UUIE that has one. */
export function callIdentifierOf(body: MessageBody | undefined): Buffer | undefined {
  if (!body || body.choice === '_unknown' || body.choice === 'empty') return undefined;
  const id = (body.value as Rest).callIdentifier as CallIdentifier | undefined;
  return id && Buffer.isBuffer(id.guid) ? id.guid : undefined;
}
