import { sipError, SipErr } from './errors.js';
import { parseParams, type Params } from './values.js';

export interface SipUri {
  scheme: 'sip' | 'sips';
  user: string; // '' when absent, still %-escaped
  host: string; // without brackets for IPv6
  port: number; // 0 when absent
  params: Params;
  headers: string; // after '?', '' when absent
}

/** Parse a sip: or sips: URI. Throws SipParseError. */
export function parseSipUri(uri: string): SipUri {
  const colon = uri.indexOf(':');
  const scheme = uri.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') throw sipError(SipErr.Scheme, 'unsupported URI scheme', 416);
  let rest = uri.slice(colon + 1);
  let user = '';
  const at = rest.indexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let host: string;
  let i: number;
  if (rest.charCodeAt(0) === 91) {
    const close = rest.indexOf(']');
    if (close < 0) throw sipError(SipErr.Uri, 'bad IPv6 reference in URI');
    host = rest.slice(1, close);
    i = close + 1;
  } else {
    i = 0;
    while (i < rest.length) {
      const c = rest.charCodeAt(i);
      if (c === 58 || c === 59 || c === 63) break;
      i++;
    }
    host = rest.slice(0, i);
  }
  if (host.length === 0) throw sipError(SipErr.Uri, 'URI without host');
  let port = 0;
  if (rest.charCodeAt(i) === 58) {
    const ps = ++i;
    while (i < rest.length && rest.charCodeAt(i) >= 48 && rest.charCodeAt(i) <= 57) i++;
    port = Number(rest.slice(ps, i));
    if (i === ps || port > 65535) throw sipError(SipErr.Uri, 'bad port in URI');
  }
  const params: Params = new Map();
  const q = rest.indexOf('?', i);
  const paramText = q >= 0 ? rest.slice(i, q) : rest.slice(i);
  if (parseParams(paramText, 0, params, 'URI') !== paramText.length) throw sipError(SipErr.Uri, 'bad URI parameters');
  return { scheme, user, host, port, params, headers: q >= 0 ? rest.slice(q + 1) : '' };
}

/** Schemes a Request-URI may use here. */
export function requestUriScheme(uri: string): string {
  const colon = uri.indexOf(':');
  return colon > 0 ? uri.slice(0, colon).toLowerCase() : '';
}

/** Decode %-escapes (for comparing URI user parts as RFC 3261 19.1.4 asks). */
export function unescapeUri(s: string): string {
  if (s.indexOf('%') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%' && i + 2 < s.length + 0 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += c;
  }
  return out;
}

export function formatHostPort(host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port ? `${h}:${port}` : h;
}

/** The user part of a SIP URI ('' when it has none), undefined when it is not one. */
export function uriUser(uri: string): string | undefined {
  return trySipUri(uri)?.user;
}

/** The host of a SIP URI ('' when it is not one): a From domain identifies a customer network. */
export function uriHost(uri: string): string {
  return trySipUri(uri)?.host ?? '';
}

/** A SIP URI, or undefined when the text is not one (a tel: URI, garbage). */
export function trySipUri(uri: string): SipUri | undefined {
  try {
    return parseSipUri(uri);
  } catch {
    return undefined;
  }
}
