/**
 * Which lane of its client's flows a SIP datagram takes: a hash of its Call-ID over `lanes` lanes.
 * A client that sends many calls from one address and port (a load tester, a gateway, a PBX trunk)
 * would otherwise be one flow, served by one connector worker; with lanes its calls spread over the
 * workers while every message of one call (requests, retransmissions, ACK, CANCEL, in-dialog
 * requests: the same Call-ID) keeps one lane, so one worker holds its transactions.
 *
 * Layer 1 reads nothing else of the message. A datagram without a readable Call-ID before the end of
 * its headers (a keepalive, garbage, a message cut short) takes lane 0: the flow it had before lanes.
 */

import { fmix } from './pick.js';

const CR = 13;
const LF = 10;
const COLON = 58;
const SPACE = 32;
const TAB = 9;

/** Lowercase of an ASCII letter (other bytes unchanged). */
const lower = (b: number): number => (b >= 65 && b <= 90 ? b | 0x20 : b);

/** "call-id" */
const LONG = [99, 97, 108, 108, 45, 105, 100];

/**
 * Where the header name at `i` ends when it is `Call-ID` or its compact form `i` (any case), followed
 * by optional blanks and a colon: the index after the colon; -1 otherwise.
 */
function afterCallIdName(msg: Buffer, i: number, end: number): number {
  let j = i;
  if (j + LONG.length <= end && lower(msg[j]!) === LONG[0]) {
    let k = 0;
    while (k < LONG.length && lower(msg[j + k]!) === LONG[k]) k++;
    if (k === LONG.length) j += LONG.length;
    else return -1;
  } else if (j < end && lower(msg[j]!) === 105) j += 1;
  else return -1;
  while (j < end && (msg[j] === SPACE || msg[j] === TAB)) j++;
  return j < end && msg[j] === COLON ? j + 1 : -1;
}

/** FNV-1a over the value's bytes (no string built), then murmur3's finalizer. */
function hashBytes(msg: Buffer, from: number, to: number): number {
  let h = 0x2f0b3c51;
  for (let i = from; i < to; i++) {
    h ^= msg[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return fmix(h);
}

/** The lane (0 .. lanes-1) of a SIP datagram; 0 when `lanes` is 1 or the message names no Call-ID. */
export function sipCallLane(msg: Buffer, lanes: number): number {
  if (lanes <= 1) return 0;
  const end = msg.length;
  // The first line is the request or status line: headers start after its line feed.
  let line = msg.indexOf(LF);
  while (line >= 0 && line + 1 < end) {
    const start = line + 1;
    // An empty line ends the headers: no Call-ID.
    if (msg[start] === CR || msg[start] === LF) return 0;
    const next = msg.indexOf(LF, start);
    const stop = next < 0 ? end : next;
    const v = afterCallIdName(msg, start, stop);
    if (v >= 0) {
      let a = v;
      let b = stop;
      let to = next;
      for (;;) {
        while (a < b && (msg[a] === SPACE || msg[a] === TAB)) a++;
        while (b > a && (msg[b - 1] === CR || msg[b - 1] === SPACE || msg[b - 1] === TAB)) b--;
        if (a < b) return hashBytes(msg, a, b) % lanes;
        // A value folded onto the next line (RFC 3261 §7.3.1: a line that starts with a blank
        // continues the header): a Call-ID has no blanks inside, so it is all on that line.
        if (to < 0 || to + 1 >= end || (msg[to + 1] !== SPACE && msg[to + 1] !== TAB)) return 0;
        a = to + 1;
        to = msg.indexOf(LF, a);
        b = to < 0 ? end : to;
      }
    }
    line = next;
  }
  return 0;
}
