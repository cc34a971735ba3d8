import type { ClientIdentity } from '../identify.js';

/** Longest User-Agent looked at: the rest says nothing about the browser. */
const MAX_UA = 512;

/** Browser families, checked in this order (Edge and Opera also say Chrome; Chrome also says Safari). */
const FAMILIES: ReadonlyArray<readonly [token: string, family: string]> = [
  ['Edg/', 'edge'],
  ['EdgA/', 'edge'],
  ['EdgiOS/', 'edge'],
  ['OPR/', 'opera'],
  ['SamsungBrowser/', 'samsung'],
  ['Firefox/', 'firefox'],
  ['FxiOS/', 'firefox'],
  ['HeadlessChrome/', 'chrome'],
  ['CriOS/', 'chrome'],
  ['Chrome/', 'chrome'],
  ['Chromium/', 'chrome'],
];

const PLATFORMS: ReadonlyArray<readonly [token: string, platform: string]> = [
  ['Android', 'android'],
  ['iPhone', 'ios'],
  ['iPad', 'ios'],
  ['CrOS', 'chromeos'],
  ['Windows', 'windows'],
  ['Macintosh', 'macos'],
  ['Mac OS X', 'macos'],
  ['Linux', 'linux'],
];

/** The major version after `token` (digits only), '' when none. */
function majorAfter(ua: string, token: string): string {
  const at = ua.indexOf(token);
  if (at < 0) return '';
  let i = at + token.length;
  let out = '';
  while (i < ua.length && out.length < 6) {
    const c = ua.charCodeAt(i);
    if (c < 48 || c > 57) break;
    out += ua[i];
    i++;
  }
  return out;
}

/**
 * A browser's identity from its User-Agent, as a class chain reads it: vendor = browser family,
 * product = platform, version = major version (`web/safari/ios/17` → `web/safari/ios` → `web/safari`
 * → `web`). Platform and version are left out when the family is unknown.
 */
export function identifyBrowser(userAgent: string | undefined): ClientIdentity {
  const ua = (userAgent ?? '').slice(0, MAX_UA);
  let family = '';
  let version = '';
  for (const [token, f] of FAMILIES) {
    if (ua.includes(token)) {
      family = f;
      version = majorAfter(ua, token);
      break;
    }
  }
  if (!family && ua.includes('Safari/') && ua.includes('Version/')) {
    family = 'safari';
    version = majorAfter(ua, 'Version/');
  }
  if (!family) return { protocol: 'web', vendor: '', product: '', version: '' };
  let platform = '';
  for (const [token, p] of PLATFORMS) {
    if (ua.includes(token)) {
      platform = p;
      break;
    }
  }
  return { protocol: 'web', vendor: family, product: platform, version: platform ? version : '' };
}
