import { SipErr, SipParseError, sipError } from './errors.js';
import { H, headerId, isToken, isTokenChar } from './headers.js';
import type { SipHeader, SipMessage } from './message.js';
import { parseCSeq, parseNameAddr, parseUint, parseVias, type NameAddr, type Via } from './values.js';

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;

/** Where a message failed, with what could be read of it, so that a 4xx can still be built. */
export interface PartialMessage {
  isRequest: boolean;
  raw: Buffer;
  headers: SipHeader[];
}

export class SipMessageError extends SipParseError {
  partial: PartialMessage | undefined;
  constructor(cause: SipParseError, partial: PartialMessage | undefined) {
    super(cause.code, cause.status, cause.reason);
    this.partial = partial;
  }
}

/** Index of the LF ending the line that starts at `from`, or -1. */
function lineEnd(buf: Buffer, from: number, end: number): number {
  const i = buf.indexOf(LF, from);
  return i < 0 || i >= end ? -1 : i;
}

/** Offset of the first byte after leading CRLFs (keep-alives before a message). */
export function skipLeadingCrlf(buf: Buffer, from = 0): number {
  let i = from;
  while (i < buf.length && (buf[i] === CR || buf[i] === LF)) i++;
  return i;
}

/**
 * Parse one SIP message. `datagram`: the buffer is a whole UDP datagram, so Content-Length may be
 * absent (the body is the rest) and bytes after the declared body are ignored. For streams the
 * framer hands over exactly one message. Throws SipMessageError.
 */
export function parseSipMessage(input: Buffer, datagram: boolean): SipMessage {
  const begin = skipLeadingCrlf(input);
  const buf = begin === 0 ? input : input.subarray(begin);
  const end = buf.length;
  let isRequest = buf.length < 4 || buf.toString('latin1', 0, 4) !== 'SIP/';
  const headers: SipHeader[] = [];
  try {
    const sl = lineEnd(buf, 0, end);
    if (sl < 0) throw sipError(SipErr.Incomplete, 'no complete start line');
    const slEnd = sl > 0 && buf[sl - 1] === CR ? sl - 1 : sl;

    // Header block: physical lines until an empty one; lines starting with SP/HT continue the last.
    let pos = sl + 1;
    let headersEnd = -1;
    let bodyStart = -1;
    while (pos < end) {
      const le = lineEnd(buf, pos, end);
      const lineStop = le < 0 ? end : le > pos && buf[le - 1] === CR ? le - 1 : le;
      const next = le < 0 ? end : le + 1;
      if (lineStop === pos) {
        headersEnd = pos;
        bodyStart = next;
        break;
      }
      const c0 = buf[pos]!;
      if (c0 === SP || c0 === HT) {
        const last = headers[headers.length - 1];
        if (!last) throw sipError(SipErr.Header, 'continuation line before any header');
        const more = buf.toString('utf8', pos, lineStop).trim();
        if (more.length > 0) last.value = last.value.length > 0 ? `${last.value} ${more}` : more;
        last.end = next;
        pos = next;
        continue;
      }
      let i = pos;
      while (i < lineStop && isTokenChar(buf[i]!)) i++;
      const nameEnd = i;
      while (i < lineStop && (buf[i] === SP || buf[i] === HT)) i++;
      if (nameEnd === pos || i >= lineStop || buf[i] !== COLON) throw sipError(SipErr.Header, 'malformed header line');
      const name = buf.toString('latin1', pos, nameEnd);
      const value = buf.toString('utf8', i + 1, lineStop).trim();
      headers.push({ id: headerId(name), name, value, start: pos, end: next });
      pos = next;
    }
    if (headersEnd < 0) {
      if (!datagram) throw sipError(SipErr.Incomplete, 'header block not terminated');
      headersEnd = end;
      bodyStart = end;
    }

    // Start line.
    let method = '';
    let uri = '';
    let status = 0;
    let reason = '';
    if (isRequest) {
      const sp1 = buf.indexOf(SP, 0);
      if (sp1 <= 0 || sp1 >= slEnd) throw sipError(SipErr.StartLine, 'malformed request line');
      method = buf.toString('latin1', 0, sp1);
      if (!isToken(method)) throw sipError(SipErr.StartLine, 'bad method in request line');
      const sp2 = buf.indexOf(SP, sp1 + 1);
      if (sp2 < 0 || sp2 >= slEnd || sp2 === sp1 + 1) throw sipError(SipErr.StartLine, 'malformed request line');
      uri = buf.toString('utf8', sp1 + 1, sp2);
      const version = buf.toString('latin1', sp2 + 1, slEnd);
      if (version.toUpperCase() !== 'SIP/2.0') {
        if (isVersionToken(version)) throw sipError(SipErr.Version, 'SIP version not supported', 505);
        throw sipError(SipErr.StartLine, 'malformed request line');
      }
      if (uri.charCodeAt(0) === 60) throw sipError(SipErr.StartLine, 'Request-URI in angle brackets');
      if (uri.indexOf(':') <= 0) throw sipError(SipErr.StartLine, 'Request-URI without scheme');
    } else {
      const sp1 = buf.indexOf(SP, 0);
      if (sp1 < 0 || sp1 >= slEnd) throw sipError(SipErr.StartLine, 'malformed status line');
      const version = buf.toString('latin1', 0, sp1);
      if (version.toUpperCase() !== 'SIP/2.0') throw sipError(SipErr.Version, 'SIP version not supported', 505);
      let k = sp1 + 1;
      while (k < slEnd && buf[k]! >= 48 && buf[k]! <= 57) k++;
      if (k - sp1 - 1 !== 3 || (k < slEnd && buf[k] !== SP)) throw sipError(SipErr.StartLine, 'bad status code');
      status = Number(buf.toString('latin1', sp1 + 1, k));
      if (status < 100 || status > 699) throw sipError(SipErr.StartLine, 'status code out of range');
      reason = k < slEnd ? buf.toString('utf8', k + 1, slEnd) : '';
    }

    // The headers the connector relies on.
    let callId: string | undefined;
    let cseq: { seq: number; method: string } | undefined;
    let from: NameAddr | undefined;
    let to: NameAddr | undefined;
    let maxForwards = -1;
    let contentLength = -1;
    const vias: Via[] = [];
    const once = (seen: unknown, what: string): void => {
      if (seen !== undefined && seen !== -1) throw sipError(SipErr.Multiple, `more than one ${what} header`);
    };
    for (const h of headers) {
      switch (h.id) {
        case H.Via:
          parseVias(h.value, vias);
          break;
        case H.CallId:
          once(callId, 'Call-ID');
          if (!isCallId(h.value)) throw sipError(SipErr.Header, 'bad Call-ID');
          callId = h.value;
          break;
        case H.CSeq:
          once(cseq, 'CSeq');
          cseq = parseCSeq(h.value);
          break;
        case H.From:
          once(from, 'From');
          from = parseNameAddr(h.value, 'From');
          break;
        case H.To:
          once(to, 'To');
          to = parseNameAddr(h.value, 'To');
          break;
        case H.MaxForwards:
          once(maxForwards, 'Max-Forwards');
          maxForwards = parseUint(h.value, 255);
          if (maxForwards < 0) throw sipError(SipErr.Header, 'bad Max-Forwards');
          break;
        case H.ContentLength:
          once(contentLength, 'Content-Length');
          contentLength = parseUint(h.value, 0x7fffffff);
          if (contentLength < 0) throw sipError(SipErr.ContentLength, 'bad Content-Length');
          break;
        case H.Expires:
          if (parseUint(h.value, 0xffffffff) < 0) throw sipError(SipErr.Header, 'bad Expires');
          break;
        default:
          break;
      }
    }
    if (callId === undefined) throw sipError(SipErr.Missing, 'missing Call-ID');
    if (cseq === undefined) throw sipError(SipErr.Missing, 'missing CSeq');
    if (from === undefined) throw sipError(SipErr.Missing, 'missing From');
    if (to === undefined) throw sipError(SipErr.Missing, 'missing To');
    if (vias.length === 0) throw sipError(SipErr.Missing, 'missing Via');
    if (isRequest && cseq.method !== method) throw sipError(SipErr.CSeq, 'CSeq method does not match the request method');

    let bodyEnd: number;
    if (contentLength >= 0) {
      bodyEnd = bodyStart + contentLength;
      if (bodyEnd > end) throw sipError(SipErr.ContentLength, 'Content-Length larger than the message');
    } else {
      bodyEnd = datagram ? end : bodyStart;
    }
    const raw = buf.subarray(0, bodyEnd);
    const base = {
      raw,
      startLineEnd: sl + 1,
      headersEnd,
      body: buf.subarray(bodyStart, bodyEnd),
      headers,
      callId,
      cseq: cseq.seq,
      cseqMethod: cseq.method,
      from,
      to,
      vias,
      maxForwards,
      contentLength,
    };
    return isRequest ? { kind: 'request', method, uri, ...base } : { kind: 'response', status, reason, ...base };
  } catch (err) {
    if (err instanceof SipParseError) throw new SipMessageError(err, { isRequest, raw: buf, headers });
    throw err;
  }
}

function isVersionToken(v: string): boolean {
  if (v.length < 7 || v.slice(0, 4).toUpperCase() !== 'SIP/') return false;
  const dot = v.indexOf('.', 4);
  if (dot < 5 || dot === v.length - 1) return false;
  for (let i = 4; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (i !== dot && (c < 48 || c > 57)) return false;
  }
  return true;
}

function isCallId(v: string): boolean {
  if (v.length === 0) return false;
  for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) <= 32) return false;
  return true;
}
