import { H323Err, h323Error } from './errors.js';

/** Q.931 protocol discriminator. */
export const Q931_PD = 0x08;

/** Q.931 message types used by H.225.0 (wire values). */
export const enum MsgType {
  Alerting = 0x01,
  CallProceeding = 0x02,
  Progress = 0x03,
  Setup = 0x05,
  Connect = 0x07,
  SetupAcknowledge = 0x0d,
  ReleaseComplete = 0x5a,
  Facility = 0x62,
  Notify = 0x6e,
  StatusEnquiry = 0x75,
  Information = 0x7b,
  Status = 0x7d,
}

const TYPE_NAMES: Record<number, string> = {
  0x01: 'Alerting',
  0x02: 'CallProceeding',
  0x03: 'Progress',
  0x05: 'Setup',
  0x07: 'Connect',
  0x0d: 'SetupAcknowledge',
  0x5a: 'ReleaseComplete',
  0x62: 'Facility',
  0x6e: 'Notify',
  0x75: 'StatusEnquiry',
  0x7b: 'Information',
  0x7d: 'Status',
};

export const messageTypeName = (t: number): string => TYPE_NAMES[t] ?? `0x${t.toString(16).padStart(2, '0')}`;

/** Information element identifiers (codeset 0, wire values). Identifiers with bit 8 set are single-octet IEs. */
export const enum Ie {
  BearerCapability = 0x04,
  Cause = 0x08,
  CallState = 0x14,
  Facility = 0x1c,
  ProgressIndicator = 0x1e,
  NotificationIndicator = 0x27,
  Display = 0x28,
  KeypadFacility = 0x2c,
  Signal = 0x34,
  ConnectedNumber = 0x4c,
  CallingPartyNumber = 0x6c,
  CallingPartySubaddress = 0x6d,
  CalledPartyNumber = 0x70,
  CalledPartySubaddress = 0x71,
  RedirectingNumber = 0x74,
  UserUser = 0x7e,
  SendingComplete = 0xa1,
}

/** One information element as it stands: `data` is a view of its contents (empty for single-octet IEs). */
export interface Q931Ie {
  id: number;
  data: Buffer;
}

export interface Q931Message {
  /** The call reference value without the flag bit. */
  callReference: number;
  /** Octets of call reference: 0 (dummy, seen with H.460.17), 1 or 2. */
  callReferenceLength: number;
  /** The call reference flag: set in messages sent by the side the call was placed to. */
  fromDestination: boolean;
  type: number;
  /** In the order received; unknown IEs are kept as they are. */
  ies: Q931Ie[];
}

const EMPTY = Buffer.alloc(0);
const bad = (why: string): Error => h323Error(H323Err.Q931, why);

/** Read one Q.931 message (the payload of one TPKT). Throws H323Error (VCP_ERR_H323_Q931). */
export function decodeQ931(b: Buffer): Q931Message {
  if (b.length < 3) throw bad(`message of ${b.length} octets is shorter than a header`);
  if (b[0] !== Q931_PD) throw bad(`protocol discriminator 0x${b[0]!.toString(16)}, expected 0x08`);
  const crLen = b[1]!;
  if (crLen > 2) throw bad(`call reference of ${crLen} octets`);
  let i = 2;
  if (b.length < i + crLen + 1) throw bad('message ends inside its header');
  let cr = 0;
  let flag = false;
  if (crLen > 0) {
    flag = (b[i]! & 0x80) !== 0;
    cr = b[i]! & 0x7f;
    if (crLen === 2) cr = (cr << 8) | b[i + 1]!;
  }
  i += crLen;
  const type = b[i++]!;
  if (type & 0x80) throw bad(`message type 0x${type.toString(16)} has bit 8 set`);
  const ies: Q931Ie[] = [];
  while (i < b.length) {
    const id = b[i]!;
    if (id & 0x80) {
      ies.push({ id, data: EMPTY });
      i++;
      continue;
    }
    let len: number;
    let start: number;
    if (id === Ie.UserUser) {
      if (i + 3 > b.length) throw bad('User-user length runs past the end');
      len = (b[i + 1]! << 8) | b[i + 2]!;
      start = i + 3;
    } else {
      if (i + 2 > b.length) throw bad(`IE 0x${id.toString(16)} length runs past the end`);
      len = b[i + 1]!;
      start = i + 2;
    }
    if (start + len > b.length) throw bad(`IE 0x${id.toString(16)} of ${len} octets runs past the end`);
    ies.push({ id, data: b.subarray(start, start + len) });
    i = start + len;
  }
  return { callReference: cr, callReferenceLength: crLen, fromDestination: flag, type, ies };
}

const isShift = (id: number): boolean => (id & 0xf0) === 0x90;

/**
 * Write a Q.931 message. IEs go out in ascending order of identifier (Q.931 4.5.1), keeping the
 * relative order of repeated IEs; a message holding a shift IE keeps its order as given, since
 * shifts change the codeset of what follows.
 */
export function encodeQ931(m: Q931Message): Buffer {
  const crLen = m.callReferenceLength;
  if (crLen < 0 || crLen > 2) throw bad(`call reference of ${crLen} octets`);
  if (m.callReference < 0 || m.callReference >= (crLen === 0 ? 1 : crLen === 1 ? 0x80 : 0x8000)) throw bad(`call reference ${m.callReference} does not fit ${crLen} octet(s)`);
  const ies = m.ies.some((e) => isShift(e.id)) ? m.ies : [...m.ies].sort((a, b) => a.id - b.id);
  let size = 3 + crLen;
  for (const e of ies) {
    if (e.id & 0x80) size += 1;
    else {
      const max = e.id === Ie.UserUser ? 0xffff : 0xff;
      if (e.data.length > max) throw bad(`IE 0x${e.id.toString(16)} of ${e.data.length} octets is too long`);
      size += (e.id === Ie.UserUser ? 3 : 2) + e.data.length;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let i = 0;
  out[i++] = Q931_PD;
  out[i++] = crLen;
  if (crLen === 1) out[i++] = (m.fromDestination ? 0x80 : 0) | m.callReference;
  else if (crLen === 2) {
    out[i++] = (m.fromDestination ? 0x80 : 0) | (m.callReference >>> 8);
    out[i++] = m.callReference & 0xff;
  }
  out[i++] = m.type;
  for (const e of ies) {
    out[i++] = e.id;
    if (e.id & 0x80) continue;
    if (e.id === Ie.UserUser) {
      out.writeUInt16BE(e.data.length, i);
      i += 2;
    } else out[i++] = e.data.length;
    e.data.copy(out, i);
    i += e.data.length;
  }
  return out;
}

export function findIe(m: Q931Message, id: number): Q931Ie | undefined {
  for (const e of m.ies) if (e.id === id) return e;
  return undefined;
}

/** Replace the first IE `id` (or add it); `undefined` removes every IE `id`. */
export function setIe(m: Q931Message, id: number, data: Buffer | undefined): void {
  const i = m.ies.findIndex((e) => e.id === id);
  if (data === undefined) {
    m.ies = m.ies.filter((e) => e.id !== id);
    return;
  }
  if (i >= 0) m.ies[i] = { id, data };
  else m.ies.push({ id, data });
}
