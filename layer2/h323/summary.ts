import {
  aliasToText,
  callIdentifierOf,
  guidToString,
  protocolVersion,
  transportToString,
  type AliasAddress,
  type AliasText,
  type EndpointType,
  type TransportAddress,
  type VendorIdentifier,
} from './h225.js';
import { bodyOf, type H323Message } from './message.js';
import { decodeCause, decodeDisplay, decodePartyNumber } from './q931-ie.js';
import { findIe, Ie, messageTypeName } from './q931.js';
import { RAS_ABBREVIATIONS, rasBody, type RasMessage } from './ras.js';
import { vendorSummary, type VendorSummary } from './vendor.js';
import type { PerChoice, PerObject, PerValue } from './per/types.js';

/**
 * Flat, JSON-ready views of a message: what an operator (the decode command) and the logs want to
 * see — message type, call reference, call identifier, aliases, vendor identity — and what network
 * and customer identification read (aliases, Display, called/calling numbers).
 */
export interface CallSummary {
  message: string;
  callReference: number;
  fromDestination: boolean;
  body?: string;
  protocolVersion?: number;
  callIdentifier?: string;
  conferenceID?: string;
  sourceAliases?: AliasText[];
  destinationAliases?: AliasText[];
  vendor?: VendorSummary;
  display?: string;
  callingNumber?: string;
  calledNumber?: string;
  cause?: number;
  releaseReason?: string;
  facilityReason?: string;
  alternativeAddress?: string;
  alternativeAliases?: AliasText[];
  destCallSignalAddress?: string;
  sourceCallSignalAddress?: string;
  h245Address?: string;
  h245Tunnelling?: boolean;
  fastStart?: number;
}

const aliases = (v: PerValue | undefined): AliasText[] | undefined => (Array.isArray(v) && v.length ? (v as AliasAddress[]).map(aliasToText) : undefined);
const address = (v: PerValue | undefined): string | undefined => transportToString(v as TransportAddress | undefined);
const choiceName = (v: PerValue | undefined): string | undefined => (v && typeof v === 'object' && 'choice' in v ? String((v as PerChoice).choice) : undefined);

function vendorOf(e: PerValue | undefined): VendorSummary | undefined {
  const v = (e as EndpointType | undefined)?.vendor;
  return v ? vendorSummary(v) : undefined;
}

/** Q.931 IE contents that do not read are left out of the summary rather than failing it. */
function ieText<T>(m: H323Message, id: number, read: (d: Buffer) => T): T | undefined {
  const ie = findIe(m.q931, id);
  if (!ie) return undefined;
  try {
    return read(ie.data);
  } catch {
    return undefined;
  }
}

export function summarizeCall(m: H323Message): CallSummary {
  const out: CallSummary = { message: messageTypeName(m.q931.type), callReference: m.q931.callReference, fromDestination: m.q931.fromDestination };
  const display = ieText(m, Ie.Display, decodeDisplay);
  if (display !== undefined) out.display = display;
  const calling = ieText(m, Ie.CallingPartyNumber, (d) => decodePartyNumber(d).digits);
  if (calling !== undefined) out.callingNumber = calling;
  const called = ieText(m, Ie.CalledPartyNumber, (d) => decodePartyNumber(d).digits);
  if (called !== undefined) out.calledNumber = called;
  const cause = ieText(m, Ie.Cause, (d) => decodeCause(d).value);
  if (cause !== undefined) out.cause = cause;
  const body = bodyOf(m);
  if (!body) return out;
  out.body = body.choice === '_unknown' ? `extension ${body.index}` : body.choice;
  const pdu = m.uu!['h323-uu-pdu'];
  if (pdu.h245Tunnelling !== undefined) out.h245Tunnelling = pdu.h245Tunnelling;
  const guid = callIdentifierOf(body);
  if (guid) out.callIdentifier = guidToString(guid);
  if (body.choice === '_unknown' || body.choice === 'empty') return out;
  const v = body.value as PerObject;
  if (typeof v.protocolIdentifier === 'string') out.protocolVersion = protocolVersion(v.protocolIdentifier);
  if (Buffer.isBuffer(v.conferenceID)) out.conferenceID = guidToString(v.conferenceID);
  const src = aliases(v.sourceAddress);
  if (src) out.sourceAliases = src;
  const dst = aliases(v.destinationAddress);
  if (dst) out.destinationAliases = dst;
  const vendor = vendorOf(v.sourceInfo ?? v.destinationInfo);
  if (vendor) out.vendor = vendor;
  const put = (k: 'destCallSignalAddress' | 'sourceCallSignalAddress' | 'h245Address' | 'alternativeAddress', x: PerValue | undefined): void => {
    const s = address(x);
    if (s) out[k] = s;
  };
  put('destCallSignalAddress', v.destCallSignalAddress);
  put('sourceCallSignalAddress', v.sourceCallSignalAddress);
  put('h245Address', v.h245Address);
  if (Array.isArray(v.fastStart)) out.fastStart = v.fastStart.length;
  if (body.choice === 'facility') {
    const r = choiceName(v.reason);
    if (r) out.facilityReason = r;
    put('alternativeAddress', v.alternativeAddress);
    const alt = aliases(v.alternativeAliasAddress);
    if (alt) out.alternativeAliases = alt;
  }
  if (body.choice === 'releaseComplete') {
    const r = choiceName(v.reason);
    if (r) out.releaseReason = r;
  }
  return out;
}

export interface RasSummary {
  ras: string;
  message: string;
  requestSeqNum?: number;
  protocolVersion?: number;
  aliases?: AliasText[];
  destinationAliases?: AliasText[];
  vendor?: VendorSummary;
  rasAddress?: string;
  callSignalAddress?: string[];
  destCallSignalAddress?: string;
  gatekeeperIdentifier?: string;
  endpointIdentifier?: string;
  rejectReason?: string;
  callIdentifier?: string;
  alternateGatekeepers?: string[];
}

function addresses(v: PerValue | undefined): string[] | undefined {
  if (Array.isArray(v)) return v.map((a) => address(a) ?? '?');
  const one = address(v);
  return one ? [one] : undefined;
}

function alternates(v: PerObject): string[] | undefined {
  const info = v.altGKInfo as PerObject | undefined;
  const list = (v.alternateGatekeeper ?? info?.alternateGatekeeper) as PerObject[] | undefined;
  return Array.isArray(list) && list.length ? list.map((g) => address(g.rasAddress) ?? '?') : undefined;
}

export function summarizeRas(m: RasMessage): RasSummary {
  const out: RasSummary = { ras: RAS_ABBREVIATIONS[m.choice] ?? (m.choice === '_unknown' ? `extension ${m.index}` : m.choice), message: m.choice };
  const v = rasBody(m);
  if (!v) return out;
  if (typeof v.requestSeqNum === 'number') out.requestSeqNum = v.requestSeqNum;
  if (typeof v.protocolIdentifier === 'string') out.protocolVersion = protocolVersion(v.protocolIdentifier);
  const al = aliases(v.endpointAlias ?? v.terminalAlias ?? v.srcInfo ?? v.sourceInfo);
  if (al) out.aliases = al;
  const dst = aliases(m.choice === 'locationRequest' || m.choice === 'admissionRequest' ? v.destinationInfo : undefined);
  if (dst) out.destinationAliases = dst;
  const ven = (v.endpointVendor as VendorIdentifier | undefined) ?? (v.terminalType as EndpointType | undefined)?.vendor ?? (v.endpointType as EndpointType | undefined)?.vendor;
  if (ven) out.vendor = vendorSummary(ven);
  const ras = addresses(v.rasAddress);
  if (ras) out.rasAddress = ras[0]!;
  const csa = addresses(v.callSignalAddress);
  if (csa) out.callSignalAddress = csa;
  const dcsa = address(v.destCallSignalAddress);
  if (dcsa) out.destCallSignalAddress = dcsa;
  if (typeof v.gatekeeperIdentifier === 'string') out.gatekeeperIdentifier = v.gatekeeperIdentifier;
  if (typeof v.endpointIdentifier === 'string') out.endpointIdentifier = v.endpointIdentifier;
  const rr = choiceName(v.rejectReason);
  if (rr) out.rejectReason = rr;
  const ci = v.callIdentifier as PerObject | undefined;
  if (ci && Buffer.isBuffer(ci.guid)) out.callIdentifier = guidToString(ci.guid);
  const alts = alternates(v);
  if (alts) out.alternateGatekeepers = alts;
  return out;
}

/** Aliases, Display and numbers of a Setup: the inputs of network and customer identification. */
export interface CallerHints {
  sourceAliases: AliasText[];
  destinationAliases: AliasText[];
  display?: string;
  callingNumber?: string;
  calledNumber?: string;
}

export function callerHints(m: H323Message): CallerHints {
  const s = summarizeCall(m);
  const h: CallerHints = { sourceAliases: s.sourceAliases ?? [], destinationAliases: s.destinationAliases ?? [] };
  if (s.display !== undefined) h.display = s.display;
  if (s.callingNumber !== undefined) h.callingNumber = s.callingNumber;
  if (s.calledNumber !== undefined) h.calledNumber = s.calledNumber;
  return h;
}
