import {
  dialledDigits,
  newGuid,
  protocolIdentifier,
  type AliasAddress,
  type EndpointType,
  type FacilityUUIE,
  type H323UserInformation,
  type MessageBody,
  type SetupUUIE,
  type TransportAddress,
} from './h225.js';
import { bodyOf, type H323Message } from './message.js';
import { encodeBearer, encodeCause, encodeDisplay, encodePartyNumber, decodePartyNumber } from './q931-ie.js';
import { findIe, Ie, MsgType, type Q931Ie } from './q931.js';
import type { PerObject } from './per/types.js';

/**
 * Builders of the call signalling messages the simulators and the connector send. Replies take the
 * Setup they answer: its call reference (with the from-destination flag), call identifier,
 * conference identifier and tunnelling choice carry over.
 */

export const DEFAULT_VERSION = 4;

/** What a device says about itself in `VendorIdentifier`. */
export interface Identity {
  t35CountryCode: number;
  t35Extension: number;
  manufacturerCode: number;
  productId?: string | Buffer;
  versionId?: string | Buffer;
}

export type EndpointKind = 'terminal' | 'mcu' | 'gateway' | 'gatekeeper';

const octetsOf = (s: string | Buffer | undefined): Buffer | undefined => (s === undefined ? undefined : Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8'));

export function endpointType(id: Identity | undefined, kind: EndpointKind = 'terminal'): EndpointType {
  const e: EndpointType = { mc: kind === 'mcu', undefinedNode: false };
  if (id) {
    e.vendor = { vendor: { t35CountryCode: id.t35CountryCode, t35Extension: id.t35Extension, manufacturerCode: id.manufacturerCode } };
    const p = octetsOf(id.productId);
    const v = octetsOf(id.versionId);
    if (p && p.length) e.vendor.productId = p;
    if (v && v.length) e.vendor.versionId = v;
  }
  e[kind] = {};
  return e;
}

function userInformation(body: MessageBody, tunnelling: boolean | undefined): H323UserInformation {
  const pdu: H323UserInformation['h323-uu-pdu'] = { 'h323-message-body': body };
  if (tunnelling !== undefined) pdu.h245Tunnelling = tunnelling;
  return { 'h323-uu-pdu': pdu };
}

export interface SetupOptions {
  /** 15-bit call reference value chosen by the caller. */
  callReference: number;
  callIdentifier?: Buffer;
  conferenceID?: Buffer;
  identity?: Identity;
  kind?: EndpointKind;
  sourceAliases?: AliasAddress[];
  destinationAliases?: AliasAddress[];
  /** Digits for the Called party number IE. */
  calledNumber?: string;
  callingNumber?: string;
  display?: string;
  sourceCallSignalAddress?: TransportAddress;
  destCallSignalAddress?: TransportAddress;
  h245Address?: TransportAddress;
  fastStart?: Buffer[];
  /** Default true. */
  h245Tunnelling?: boolean;
  /** H.225.0 version claimed in protocolIdentifier (default 4). */
  version?: number;
}

export function buildSetup(o: SetupOptions): H323Message {
  const setup: SetupUUIE = {
    protocolIdentifier: protocolIdentifier(o.version ?? DEFAULT_VERSION),
    sourceInfo: endpointType(o.identity, o.kind),
    activeMC: false,
    conferenceID: o.conferenceID ?? newGuid(),
    conferenceGoal: { choice: 'create', value: null },
    callType: { choice: 'pointToPoint', value: null },
    callIdentifier: { guid: o.callIdentifier ?? newGuid() },
    mediaWaitForConnect: false,
    canOverlapSend: false,
    multipleCalls: false,
    maintainConnection: false,
  };
  if (o.h245Address) setup.h245Address = o.h245Address;
  if (o.sourceAliases?.length) setup.sourceAddress = o.sourceAliases;
  if (o.destinationAliases?.length) setup.destinationAddress = o.destinationAliases;
  if (o.destCallSignalAddress) setup.destCallSignalAddress = o.destCallSignalAddress;
  if (o.sourceCallSignalAddress) setup.sourceCallSignalAddress = o.sourceCallSignalAddress;
  if (o.fastStart?.length) setup.fastStart = o.fastStart;
  const ies: Q931Ie[] = [{ id: Ie.BearerCapability, data: encodeBearer({ coding: 0, capability: 8, transferMode: 0, rate: 0x18, multiplier: 6, layer1: 5 }) }];
  if (o.display) ies.push({ id: Ie.Display, data: encodeDisplay(o.display) });
  if (o.callingNumber) ies.push({ id: Ie.CallingPartyNumber, data: encodePartyNumber({ typeOfNumber: 0, plan: 1, presentation: 0, screening: 0, digits: o.callingNumber }) });
  if (o.calledNumber) ies.push({ id: Ie.CalledPartyNumber, data: encodePartyNumber({ typeOfNumber: 0, plan: 1, digits: o.calledNumber }) });
  return {
    q931: { callReference: o.callReference & 0x7fff, callReferenceLength: 2, fromDestination: false, type: MsgType.Setup, ies },
    uu: userInformation({ choice: 'setup', value: setup }, o.h245Tunnelling ?? true),
  };
}

/** The Setup-UUIE of a message, if it is a Setup. */
export function setupOf(m: H323Message): SetupUUIE | undefined {
  const b = bodyOf(m);
  return b?.choice === 'setup' ? b.value : undefined;
}

function replyQ931(setup: H323Message, type: number, ies: Q931Ie[] = []): H323Message['q931'] {
  return { callReference: setup.q931.callReference, callReferenceLength: setup.q931.callReferenceLength, fromDestination: !setup.q931.fromDestination, type, ies };
}

const tunnellingOf = (m: H323Message): boolean | undefined => m.uu?.['h323-uu-pdu'].h245Tunnelling;

export interface AnswerOptions {
  identity?: Identity;
  kind?: EndpointKind;
  h245Address?: TransportAddress;
  version?: number;
  display?: string;
}

function answer(setup: H323Message, o: AnswerOptions): PerObject & { protocolIdentifier: string; destinationInfo: EndpointType } {
  const s = setupOf(setup);
  const v: PerObject & { protocolIdentifier: string; destinationInfo: EndpointType } = {
    protocolIdentifier: protocolIdentifier(o.version ?? DEFAULT_VERSION),
    destinationInfo: endpointType(o.identity, o.kind),
  };
  if (o.h245Address) v.h245Address = o.h245Address;
  if (s?.callIdentifier) v.callIdentifier = { guid: s.callIdentifier.guid };
  v.multipleCalls = false;
  v.maintainConnection = false;
  return v;
}

export function buildCallProceeding(setup: H323Message, o: AnswerOptions = {}): H323Message {
  return { q931: replyQ931(setup, MsgType.CallProceeding), uu: userInformation({ choice: 'callProceeding', value: answer(setup, o) }, tunnellingOf(setup)) };
}

export function buildAlerting(setup: H323Message, o: AnswerOptions = {}): H323Message {
  return { q931: replyQ931(setup, MsgType.Alerting), uu: userInformation({ choice: 'alerting', value: answer(setup, o) }, tunnellingOf(setup)) };
}

export function buildConnect(setup: H323Message, o: AnswerOptions = {}): H323Message {
  const s = setupOf(setup);
  const value = { ...answer(setup, o), conferenceID: s?.conferenceID ?? newGuid() };
  const ies: Q931Ie[] = o.display ? [{ id: Ie.Display, data: encodeDisplay(o.display) }] : [];
  return { q931: replyQ931(setup, MsgType.Connect, ies), uu: userInformation({ choice: 'connect', value }, tunnellingOf(setup)) };
}

export interface ReleaseOptions {
  callReference: number;
  callReferenceLength?: number;
  fromDestination: boolean;
  callIdentifier?: Buffer;
  /** A ReleaseCompleteReason alternative name (e.g. 'undefinedReason', 'destinationRejection'). */
  reason?: string;
  /** Q.931 cause value (default 16, normal call clearing). */
  cause?: number;
  version?: number;
  h245Tunnelling?: boolean;
}

export function buildReleaseComplete(o: ReleaseOptions): H323Message {
  const rc: PerObject & { protocolIdentifier: string } = { protocolIdentifier: protocolIdentifier(o.version ?? DEFAULT_VERSION) };
  if (o.reason) rc.reason = { choice: o.reason, value: null };
  if (o.callIdentifier) rc.callIdentifier = { guid: o.callIdentifier };
  return {
    q931: {
      callReference: o.callReference,
      callReferenceLength: o.callReferenceLength ?? 2,
      fromDestination: o.fromDestination,
      type: MsgType.ReleaseComplete,
      ies: [{ id: Ie.Cause, data: encodeCause(o.cause ?? 16) }],
    },
    uu: userInformation({ choice: 'releaseComplete', value: rc }, o.h245Tunnelling),
  };
}

/** Release Complete from the answering side of `setup`. */
export function buildReleaseFor(setup: H323Message, reason?: string, cause?: number): H323Message {
  const o: ReleaseOptions = {
    callReference: setup.q931.callReference,
    callReferenceLength: setup.q931.callReferenceLength,
    fromDestination: !setup.q931.fromDestination,
  };
  const guid = setupOf(setup)?.callIdentifier?.guid;
  if (guid) o.callIdentifier = guid;
  if (reason) o.reason = reason;
  if (cause !== undefined) o.cause = cause;
  const t = tunnellingOf(setup);
  if (t !== undefined) o.h245Tunnelling = t;
  return buildReleaseComplete(o);
}

const DIGITS = /^[0-9#*,]{1,128}$/;

/**
 * The alias the caller dialled, for `alternativeAliasAddress`: a dialledDigits destination alias
 * first, else the Called party number digits, else the first destination alias.
 */
export function dialledAlias(setup: H323Message): AliasAddress | undefined {
  const s = setupOf(setup);
  const dests = s?.destinationAddress ?? [];
  const digits = dests.find((a) => a.choice === 'dialledDigits');
  if (digits) return digits;
  const called = findIe(setup.q931, Ie.CalledPartyNumber);
  if (called) {
    try {
      const n = decodePartyNumber(called.data).digits;
      if (DIGITS.test(n)) return dialledDigits(n);
    } catch {
      // an unreadable Called party number gives no alias
    }
  }
  return dests[0];
}

/**
 * The redirect: a Facility with reason callForwarded that sends the caller of `setup` to `target`
 * (GNU Gatekeeper's RedirectCallsToGkIP does the same), keeping the call and conference identifiers
 * so that the arrival at the target can be recognised. The caller is expected to release and dial
 * `target` with `alias` (default: the alias it dialled).
 */
export function buildFacilityForward(setup: H323Message, target: TransportAddress, o: { alias?: AliasAddress; version?: number } = {}): H323Message {
  const s = setupOf(setup);
  const f: FacilityUUIE = {
    protocolIdentifier: protocolIdentifier(o.version ?? DEFAULT_VERSION),
    alternativeAddress: target,
    reason: { choice: 'callForwarded', value: null },
  };
  const alias = o.alias ?? dialledAlias(setup);
  if (alias) f.alternativeAliasAddress = [alias];
  if (s) f.conferenceID = s.conferenceID;
  if (s?.callIdentifier) f.callIdentifier = { guid: s.callIdentifier.guid };
  f.multipleCalls = false;
  f.maintainConnection = false;
  return {
    q931: replyQ931(setup, MsgType.Facility, [{ id: Ie.Facility, data: Buffer.alloc(0) }]),
    uu: userInformation({ choice: 'facility', value: f }, tunnellingOf(setup)),
  };
}
