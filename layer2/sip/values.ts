import { sipError, SipErr } from './errors.js';
import { isToken } from './headers.js';

/** Header and URI parameters in order of appearance; names lower-cased, value `''` when absent. */
export type Params = Map<string, string>;

export interface Via {
  transport: string; // upper case: UDP, TCP, TLS, SCTP...
  host: string;
  port: number; // 0 when absent
  params: Params;
  branch: string; // '' when absent
  /** The via-parm as written (trimmed), for RFC 2543 transaction matching. */
  text: string;
}

export interface NameAddr {
  display: string;
  uri: string;
  params: Params;
  tag: string; // '' when absent
}

const SP = 32;
const HT = 9;
const isWs = (c: number): boolean => c === SP || c === HT;

function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

/** Index just past a quoted string starting at `i` (which holds the opening quote), or -1. */
export function skipQuoted(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 92 /* \ */) j++;
    else if (c === 34 /* " */) return j + 1;
  }
  return -1;
}

/**
 * Split a list header value on commas outside quotes and angle brackets. Empty elements are
 * returned as '' so callers that care (Via) can refuse them.
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 34) {
      const j = skipQuoted(value, i);
      if (j < 0) throw sipError(SipErr.Header, 'unterminated quoted string');
      i = j - 1;
    } else if (c === 60 /* < */) angle = true;
    else if (c === 62 /* > */) angle = false;
    else if (c === 44 /* , */ && !angle) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out;
}

/**
 * Parse `*( SWS ";" SWS name [ SWS "=" SWS value ] )` from `i`. Values may be tokens, hosts or
 * quoted strings. Returns the index where parsing stopped (end, or a character that is not `;`).
 */
export function parseParams(s: string, i: number, into: Params, what: string): number {
  for (;;) {
    i = skipWs(s, i);
    if (i >= s.length || s.charCodeAt(i) !== 59 /* ; */) return i;
    i = skipWs(s, i + 1);
    const ns = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 61 || c === 59 || c === 44 || isWs(c)) break;
      i++;
    }
    const name = s.slice(ns, i);
    if (!isToken(name)) throw sipError(SipErr.Header, `bad parameter in ${what}`);
    i = skipWs(s, i);
    let value = '';
    if (i < s.length && s.charCodeAt(i) === 61) {
      i = skipWs(s, i + 1);
      if (s.charCodeAt(i) === 34) {
        const j = skipQuoted(s, i);
        if (j < 0) throw sipError(SipErr.Header, `unterminated quoted string in ${what}`);
        value = s.slice(i, j);
        i = j;
      } else {
        const vs = i;
        while (i < s.length) {
          const c = s.charCodeAt(i);
          if (c === 59 || c === 44 || isWs(c)) break;
          i++;
        }
        value = s.slice(vs, i);
        if (value.length === 0) throw sipError(SipErr.Header, `empty parameter value in ${what}`);
      }
    }
    into.set(name.toLowerCase(), value);
  }
}

/** `host [ SWS ":" SWS port ]` at i → [host, port, next index]. */
function parseHostPort(s: string, i: number, what: string): [string, number, number] {
  let host: string;
  if (s.charCodeAt(i) === 91 /* [ */) {
    const close = s.indexOf(']', i);
    if (close < 0) throw sipError(SipErr.Header, `bad IPv6 reference in ${what}`);
    host = s.slice(i + 1, close);
    i = close + 1;
  } else {
    const hs = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 95;
      if (!ok) break;
      i++;
    }
    host = s.slice(hs, i);
  }
  if (host.length === 0) throw sipError(SipErr.Header, `missing host in ${what}`);
  let port = 0;
  const j = skipWs(s, i);
  if (s.charCodeAt(j) === 58 /* : */) {
    i = skipWs(s, j + 1);
    const ps = i;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    if (i === ps || i - ps > 5) throw sipError(SipErr.Header, `bad port in ${what}`);
    port = Number(s.slice(ps, i));
    if (port > 65535) throw sipError(SipErr.Header, `bad port in ${what}`);
  }
  return [host, port, i];
}

/** Match `literal` case-insensitively at i, allowing SWS before it. */
function expect(s: string, i: number, literal: string, what: string): number {
  i = skipWs(s, i);
  if (s.slice(i, i + literal.length).toUpperCase() !== literal) throw sipError(SipErr.Header, `malformed ${what}`);
  return i + literal.length;
}

/** One via-parm: `SIP / 2.0 / transport sent-by *(; params)`. */
export function parseVia(text: string): Via {
  if (text.length === 0) throw sipError(SipErr.Header, 'empty Via value');
  let i = expect(text, 0, 'SIP', 'Via');
  i = expect(text, i, '/', 'Via');
  i = expect(text, i, '2.0', 'Via');
  i = expect(text, i, '/', 'Via');
  i = skipWs(text, i);
  const ts = i;
  while (i < text.length && !isWs(text.charCodeAt(i))) i++;
  const transport = text.slice(ts, i).toUpperCase();
  if (!isToken(transport)) throw sipError(SipErr.Header, 'malformed Via transport');
  i = skipWs(text, i);
  const [host, port, after] = parseHostPort(text, i, 'Via');
  const params: Params = new Map();
  i = parseParams(text, after, params, 'Via');
  if (skipWs(text, i) !== text.length) throw sipError(SipErr.Header, 'malformed Via parameters');
  return { transport, host, port, params, branch: params.get('branch') ?? '', text };
}

export function parseVias(value: string, into: Via[]): void {
  for (const part of splitList(value)) into.push(parseVia(part));
}

/** name-addr or addr-spec with header parameters (From, To, Contact, Route, Record-Route). */
export function parseNameAddr(s: string, what: string): NameAddr {
  let i = skipWs(s, 0);
  let display = '';
  let uri: string;
  const c0 = s.charCodeAt(i);
  if (c0 === 34) {
    const j = skipQuoted(s, i);
    if (j < 0) throw sipError(SipErr.Header, `unterminated quoted string in ${what}`);
    display = s.slice(i, j);
    i = skipWs(s, j);
    if (s.charCodeAt(i) !== 60) throw sipError(SipErr.Header, `expected <uri> after the display name in ${what}`);
  }
  const lt = s.charCodeAt(i) === 60 ? i : c0 === 34 ? -1 : s.indexOf('<', i);
  if (lt >= 0) {
    if (c0 !== 34) {
      const words = s.slice(i, lt).trim();
      if (words.length > 0) {
        for (const w of words.split(/[ \t]+/)) if (!isToken(w)) throw sipError(SipErr.Header, `bad display name in ${what}`);
        display = words;
      }
    }
    const gt = s.indexOf('>', lt);
    if (gt < 0) throw sipError(SipErr.Header, `missing > in ${what}`);
    uri = s.slice(lt + 1, gt);
    i = gt + 1;
  } else {
    const us = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 59 || isWs(c)) break;
      i++;
    }
    uri = s.slice(us, i);
  }
  if (uri.length === 0) throw sipError(SipErr.Header, `empty URI in ${what}`);
  for (let k = 0; k < uri.length; k++) {
    const c = uri.charCodeAt(k);
    if (c <= 32 || c === 60 || c === 62 || c === 34) throw sipError(SipErr.Header, `whitespace or bad character inside the URI in ${what}`);
  }
  if (uri.indexOf(':') <= 0) throw sipError(SipErr.Header, `URI without scheme in ${what}`);
  const params: Params = new Map();
  i = parseParams(s, i, params, what);
  if (skipWs(s, i) !== s.length) throw sipError(SipErr.Header, `unexpected characters after the URI in ${what}`);
  return { display, uri, params, tag: params.get('tag') ?? '' };
}

/** Unsigned decimal of at most `maxDigits` digits and at most `max`, else -1. Leading zeros allowed. */
export function parseUint(s: string, max: number): number {
  const t = s.trim();
  if (t.length === 0 || t.length > 12) return -1;
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n > max ? -1 : n;
}

/** `CSeq: 1*DIGIT LWS method`. */
export function parseCSeq(value: string): { seq: number; method: string } {
  const v = value.trim();
  let i = 0;
  while (i < v.length && !isWs(v.charCodeAt(i))) i++;
  const seq = parseUint(v.slice(0, i), 0x7fffffff);
  const method = v.slice(skipWs(v, i));
  if (seq < 0) throw sipError(SipErr.CSeq, 'bad CSeq number');
  if (!isToken(method)) throw sipError(SipErr.CSeq, 'bad CSeq method');
  return { seq, method };
}
