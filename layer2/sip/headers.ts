/** Header names the connector works with, by number; every other header is `Other`. */
export const enum H {
  Other = 0,
  Via,
  From,
  To,
  CallId,
  CSeq,
  MaxForwards,
  ContentLength,
  ContentType,
  Contact,
  Route,
  RecordRoute,
  UserAgent,
  Server,
  ProxyRequire,
  Require,
  Supported,
  Expires,
  Subject,
  Event,
  ReferTo,
  Allow,
  Accept,
}

/** Lower-case header name (long and compact forms) → id. */
const NAMES: ReadonlyMap<string, H> = new Map<string, H>([
  ['via', H.Via], ['v', H.Via],
  ['from', H.From], ['f', H.From],
  ['to', H.To], ['t', H.To],
  ['call-id', H.CallId], ['i', H.CallId],
  ['cseq', H.CSeq],
  ['max-forwards', H.MaxForwards],
  ['content-length', H.ContentLength], ['l', H.ContentLength],
  ['content-type', H.ContentType], ['c', H.ContentType],
  ['contact', H.Contact], ['m', H.Contact],
  ['route', H.Route],
  ['record-route', H.RecordRoute],
  ['user-agent', H.UserAgent],
  ['server', H.Server],
  ['proxy-require', H.ProxyRequire],
  ['require', H.Require],
  ['supported', H.Supported], ['k', H.Supported],
  ['expires', H.Expires],
  ['subject', H.Subject], ['s', H.Subject],
  ['event', H.Event], ['o', H.Event],
  ['refer-to', H.ReferTo], ['r', H.ReferTo],
  ['allow', H.Allow],
  ['accept', H.Accept],
]);

export function headerId(name: string): H {
  return NAMES.get(name) ?? NAMES.get(name.toLowerCase()) ?? H.Other;
}

/** Headers that may carry several comma-separated values (RFC 3261 section 7.3.1). */
export function isListHeader(id: H): boolean {
  return id === H.Via || id === H.Route || id === H.RecordRoute || id === H.Contact || id === H.ProxyRequire ||
    id === H.Require || id === H.Supported || id === H.Allow || id === H.Accept;
}

/** RFC 3261 `token` characters. */
const TOKEN = new Uint8Array(256);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~') TOKEN[c.charCodeAt(0)] = 1;
export const isTokenChar = (c: number): boolean => TOKEN[c] === 1;
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TOKEN[s.charCodeAt(i)] !== 1) return false;
  return true;
}
