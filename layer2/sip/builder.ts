import { H } from './headers.js';
import type { SipHeader, SipMessage, SipRequest, SipResponse } from './message.js';
import { splitList } from './values.js';

const CRLF = '\r\n';

/** Standard reason phrases for the responses the connector originates. */
export const REASONS: Readonly<Record<number, string>> = {
  100: 'Trying', 200: 'OK', 302: 'Moved Temporarily', 400: 'Bad Request', 404: 'Not Found', 408: 'Request Timeout',
  416: 'Unsupported URI Scheme', 420: 'Bad Extension', 430: 'Flow Failed', 481: 'Call/Transaction Does Not Exist',
  483: 'Too Many Hops', 487: 'Request Terminated', 500: 'Server Internal Error', 501: 'Not Implemented',
  503: 'Service Unavailable', 505: 'Version Not Supported', 513: 'Message Too Large',
};

export interface ResponseOptions {
  /** Added to To when it has no tag (not for 100). */
  toTag?: string;
  /** Full header lines without line end, e.g. `Contact: <sip:a@b>`. */
  headers?: readonly string[];
  body?: Buffer;
  contentType?: string;
}

/**
 * A response to `req` (or to what could be read of a malformed request): Via, From, To, Call-ID and
 * CSeq are copied as they arrived (RFC 3261 8.2.6.2).
 */
export function buildResponse(
  src: { raw: Buffer; headers: readonly SipHeader[] },
  status: number,
  reason: string,
  opts: ResponseOptions = {},
): Buffer {
  const parts: Array<Buffer | string> = [`SIP/2.0 ${status} ${reason}${CRLF}`];
  for (const h of src.headers) {
    switch (h.id) {
      case H.Via:
      case H.From:
      case H.CallId:
      case H.CSeq:
        parts.push(src.raw.subarray(h.start, h.end));
        if (src.raw[h.end - 1] !== 10) parts.push(CRLF);
        break;
      case H.To:
        if (opts.toTag && status > 100 && !hasTag(h.value)) parts.push(`To: ${h.value};tag=${opts.toTag}${CRLF}`);
        else {
          parts.push(src.raw.subarray(h.start, h.end));
          if (src.raw[h.end - 1] !== 10) parts.push(CRLF);
        }
        break;
      default:
        break;
    }
  }
  for (const line of opts.headers ?? []) parts.push(line + CRLF);
  const body = opts.body;
  if (body && body.length > 0) parts.push(`Content-Type: ${opts.contentType ?? 'application/sdp'}${CRLF}`);
  parts.push(`Content-Length: ${body ? body.length : 0}${CRLF}${CRLF}`);
  if (body) parts.push(body);
  return concat(parts);
}

function hasTag(value: string): boolean {
  // The tag parameter follows the URI: after '>' in name-addr form, anywhere otherwise.
  const gt = value.lastIndexOf('>');
  const params = gt >= 0 ? value.slice(gt) : value;
  return /;\s*tag\s*=/i.test(params);
}

export interface RequestEdits {
  /** Replaces the Request-URI. */
  uri?: string;
  /** New method (for CANCEL/ACK built from an INVITE this is not used; see buildCancel). */
  /** Lines placed first (our Via, Record-Route), without line ends. */
  top: readonly string[];
  /** Max-Forwards to write; the header is added when the request had none. */
  maxForwards: number;
  /** How many Route values to remove from the top (loose routing: the ones naming us). */
  dropRoutes: number;
}

/** The request as it leaves the connector: same bytes but for the edits. */
export function buildForwardedRequest(req: SipRequest, edits: RequestEdits): Buffer {
  const raw = req.raw;
  const parts: Array<Buffer | string> = [];
  if (edits.uri !== undefined) parts.push(`${req.method} ${edits.uri} SIP/2.0${CRLF}`);
  else parts.push(raw.subarray(0, req.startLineEnd));
  for (const line of edits.top) parts.push(line + CRLF);
  let routesToDrop = edits.dropRoutes;
  let mfWritten = false;
  for (const h of req.headers) {
    if (h.id === H.MaxForwards) {
      parts.push(`Max-Forwards: ${edits.maxForwards}${CRLF}`);
      mfWritten = true;
      continue;
    }
    if (h.id === H.Route && routesToDrop > 0) {
      const values = splitList(h.value);
      const keep = values.slice(Math.min(routesToDrop, values.length));
      routesToDrop -= values.length - keep.length;
      if (keep.length > 0) parts.push(`Route: ${keep.join(', ')}${CRLF}`);
      continue;
    }
    parts.push(raw.subarray(h.start, h.end));
  }
  if (!mfWritten) parts.push(`Max-Forwards: ${edits.maxForwards}${CRLF}`);
  parts.push(raw.subarray(req.headersEnd));
  return concat(parts);
}

/** The response as it leaves the connector: our Via (the top one) removed. */
export function buildForwardedResponse(res: SipResponse): Buffer {
  const raw = res.raw;
  const parts: Array<Buffer | string> = [raw.subarray(0, res.startLineEnd)];
  let removed = false;
  for (const h of res.headers) {
    if (!removed && h.id === H.Via) {
      removed = true;
      const values = splitList(h.value);
      if (values.length > 1) parts.push(`Via: ${values.slice(1).join(', ')}${CRLF}`);
      continue;
    }
    parts.push(raw.subarray(h.start, h.end));
  }
  parts.push(raw.subarray(res.headersEnd));
  return concat(parts);
}

/** Header lines of `msg` with the given id, as they arrived (without line ends). */
export function rawLines(msg: SipMessage, id: H): string[] {
  const out: string[] = [];
  for (const h of msg.headers) if (h.id === id) out.push(msg.raw.toString('utf8', h.start, h.end).replace(/\r?\n$/, '').replace(/\r?\n[ \t]+/g, ' '));
  return out;
}

/**
 * CANCEL or hop-by-hop ACK for a request the connector sent: same Request-URI, Call-ID, From, CSeq
 * number and Route, our Via with the same branch (RFC 3261 9.1 and 17.1.1.3).
 */
export function buildCancelOrAck(
  method: 'CANCEL' | 'ACK',
  sent: { uri: string; via: string; from: string; to: string; callId: string; cseq: number; routes: readonly string[] },
): Buffer {
  let s = `${method} ${sent.uri} SIP/2.0${CRLF}Via: ${sent.via}${CRLF}Max-Forwards: 70${CRLF}`;
  for (const r of sent.routes) s += `Route: ${r}${CRLF}`;
  s += `From: ${sent.from}${CRLF}To: ${sent.to}${CRLF}Call-ID: ${sent.callId}${CRLF}CSeq: ${sent.cseq} ${method}${CRLF}Content-Length: 0${CRLF}${CRLF}`;
  return Buffer.from(s, 'utf8');
}

function concat(parts: Array<Buffer | string>): Buffer {
  let len = 0;
  for (const p of parts) len += typeof p === 'string' ? Buffer.byteLength(p) : p.length;
  const out = Buffer.allocUnsafe(len);
  let off = 0;
  for (const p of parts) off += typeof p === 'string' ? out.write(p, off, 'utf8') : p.copy(out, off);
  return out;
}
