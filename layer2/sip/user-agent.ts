import type { ClientIdentity } from '../identify.js';

/** Lower-case name (or name prefix) → vendor as we name it. Tandberg is part of Cisco. */
const VENDORS: ReadonlyArray<readonly [string, string]> = [
  ['polycom', 'Polycom'],
  ['tandberg', 'Cisco'],
  ['cisco', 'Cisco'],
  ['lifesize', 'LifeSize'],
  ['yealink', 'Yealink'],
  ['avaya', 'Avaya'],
  ['radvision', 'RADVision'],
  ['sony', 'Sony'],
  ['huawei', 'Huawei'],
  ['zte', 'ZTE'],
  ['grandstream', 'Grandstream'],
  ['aver', 'AVer'],
  ['vidyo', 'Vidyo'],
  ['zoom', 'Zoom'],
  ['microsoft', 'Microsoft'],
  ['linphone', 'Linphone'],
  ['jitsi', 'Jitsi'],
  ['bluejeans', 'BlueJeans'],
  ['starleaf', 'StarLeaf'],
  ['pexip', 'Pexip'],
];

function knownVendor(name: string): string | undefined {
  const l = name.toLowerCase();
  for (const [prefix, vendor] of VENDORS) if (l.startsWith(prefix)) return vendor;
  return undefined;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** A token that reads as a version: starts with a digit and holds a dot. */
const looksLikeVersion = (t: string): boolean => t.length > 1 && isDigit(t.charCodeAt(0)) && t.includes('.');

/** The first `digits(.digits)+…` run inside free text, e.g. a comment `(Release - 3.1.2)` → `3.1.2`. */
function versionIn(text: string): string {
  for (let i = 0; i < text.length; i++) {
    if (!isDigit(text.charCodeAt(i)) || (i > 0 && isDigit(text.charCodeAt(i - 1)))) continue;
    let j = i;
    while (j < text.length && (isDigit(text.charCodeAt(j)) || text[j] === '.' || /[A-Za-z_-]/.test(text[j]!))) j++;
    const v = text.slice(i, j);
    if (v.includes('.')) return v;
  }
  return '';
}

/** Split a User-Agent/Server value into product tokens and the text of its comments. */
function tokenize(ua: string): { tokens: string[]; comments: string } {
  const tokens: string[] = [];
  let comments = '';
  let i = 0;
  while (i < ua.length) {
    const c = ua[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '(') {
      let depth = 0;
      const s = i;
      for (; i < ua.length; i++) {
        if (ua[i] === '(') depth++;
        else if (ua[i] === ')' && --depth === 0) break;
      }
      comments += `${ua.slice(s + 1, i)} `;
      i++;
    } else {
      const s = i;
      while (i < ua.length && ua[i] !== ' ' && ua[i] !== '\t' && ua[i] !== '(') i++;
      tokens.push(ua.slice(s, i));
    }
  }
  return { tokens, comments };
}

function parseUserAgent(ua: string): ClientIdentity {
  const { tokens, comments } = tokenize(ua.trim());
  const none: ClientIdentity = { protocol: 'sip', vendor: '', product: '', version: '' };
  if (tokens.length === 0) return none;
  const first = tokens[0]!;
  const slash = first.indexOf('/');
  const firstName = slash >= 0 ? first.slice(0, slash) : first;
  const firstVersion = slash >= 0 ? first.slice(slash + 1) : '';
  const vendor = knownVendor(firstName) ?? knownVendor(tokens.find((t) => knownVendor(t)) ?? '') ?? firstName;
  const vendorIsFirst = knownVendor(firstName) !== undefined && firstName.length <= vendor.length + 1;

  if (slash >= 0) {
    if (vendorIsFirst && tokens.length > 1) {
      // "Polycom/5.9.0 PolycomRealPresenceTrio-Trio_8800-UA/5.9.0", "Cisco/CE9 TelePresence"
      const second = tokens[1]!;
      const s2 = second.indexOf('/');
      return { protocol: 'sip', vendor, product: s2 >= 0 ? second.slice(0, s2) : second, version: firstVersion };
    }
    if (vendorIsFirst) {
      // "TANDBERG/529 (TC7.3.6)": the number is the model, the comment holds the software version.
      return { protocol: 'sip', vendor, product: `${firstName}/${firstVersion}`, version: versionIn(comments) || firstVersion };
    }
    return { protocol: 'sip', vendor, product: firstName, version: firstVersion || versionIn(comments) };
  }

  // "Polycom HDX 8000 HD (Release - 3.1.2)", "Yealink SIP-VC800 63.345.0.40", "LifeSize Icon_600/LS_RM3_3.11.3 (6)"
  const words: string[] = [];
  let version = '';
  for (let k = vendorIsFirst ? 1 : 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    const s = t.indexOf('/');
    if (s >= 0) {
      words.push(t.slice(0, s));
      version = t.slice(s + 1);
      break;
    }
    if (looksLikeVersion(t)) {
      version = t;
      break;
    }
    words.push(t);
  }
  return { protocol: 'sip', vendor, product: words.join(' '), version: version || versionIn(comments) };
}

const cache = new Map<string, ClientIdentity>();
const CACHE_MAX = 4096;

/** Identify the client application from its User-Agent (or Server) header value. Cached. */
export function identifySip(userAgent: string | undefined): ClientIdentity {
  if (!userAgent) return { protocol: 'sip', vendor: '', product: '', version: '' };
  let id = cache.get(userAgent);
  if (id) return id;
  id = parseUserAgent(userAgent.length > 256 ? userAgent.slice(0, 256) : userAgent);
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(userAgent, id);
  return id;
}
