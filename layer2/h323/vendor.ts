import type { ClientIdentity } from '../identify.js';
import type { VendorIdentifier } from './h225.js';

/**
 * H.323 client identification from `VendorIdentifier`: the T.35 triple (country, extension,
 * manufacturer code) names the manufacturer, productId and versionId name the product and its
 * version. `vendor` is the family the classification uses, named as the SIP side names it (Tandberg
 * and Codian are Cisco, PictureTel and ViaVideo are Polycom).
 */
export interface T35Entry {
  country: number;
  extension: number;
  manufacturer: number;
  /** What the code stands for. */
  name: string;
  /** The vendor family for classification. */
  vendor: string;
  /** When set, the entry applies only if productId contains this text (case-insensitive). */
  productIncludes?: string;
}

/**
 * Most specific first: an entry with a productId condition goes before a bare entry for the same
 * triple. Tandberg endpoints send 130/1/256 with productId "Tandberg"; the triple counts as Tandberg
 * only with that productId.
 */
export const T35_TABLE: readonly T35Entry[] = [
  { country: 181, extension: 0, manufacturer: 18, name: 'Cisco', vendor: 'Cisco' },
  { country: 181, extension: 0, manufacturer: 20560, name: 'Polycom', vendor: 'Polycom' },
  { country: 181, extension: 0, manufacturer: 1, name: 'PictureTel', vendor: 'Polycom' },
  { country: 181, extension: 0, manufacturer: 9009, name: 'ViaVideo', vendor: 'Polycom' },
  { country: 181, extension: 0, manufacturer: 41242, name: 'LifeSize', vendor: 'LifeSize' },
  { country: 181, extension: 0, manufacturer: 21, name: 'RADVision', vendor: 'RADVision' },
  { country: 181, extension: 0, manufacturer: 16726, name: 'Avaya', vendor: 'Avaya' },
  { country: 181, extension: 0, manufacturer: 19540, name: 'Lucent', vendor: 'Lucent' },
  { country: 0, extension: 11, manufacturer: 11520, name: 'Sony', vendor: 'Sony' },
  { country: 181, extension: 0, manufacturer: 34952, name: 'Sony', vendor: 'Sony' },
  { country: 180, extension: 0, manufacturer: 49152, name: 'Codian', vendor: 'Cisco' },
  { country: 181, extension: 0, manufacturer: 21324, name: 'Microsoft', vendor: 'Microsoft' },
  { country: 9, extension: 0, manufacturer: 61, name: 'OpenH323', vendor: 'OpenH323' },
  { country: 138, extension: 0, manufacturer: 2, name: 'GNU Gatekeeper', vendor: 'GNU Gatekeeper' },
  { country: 130, extension: 1, manufacturer: 256, name: 'Tandberg', vendor: 'Cisco', productIncludes: 'tandberg' },
];

export const UNKNOWN_VENDOR = 'unknown vendor';

/** Text of a productId/versionId octet string: trailing NULs (and spaces) stripped, read as UTF-8 when valid. */
export function octetText(b: Buffer | undefined): string {
  if (!b) return '';
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0 || b[end - 1] === 0x20)) end--;
  const s = b.subarray(0, end);
  const t = s.toString('utf8');
  return t.includes('\ufffd') ? s.toString('latin1') : t;
}

export function lookupT35(country: number, extension: number, manufacturer: number, productId: string): T35Entry | undefined {
  const p = productId.toLowerCase();
  for (const e of T35_TABLE) {
    if (e.country !== country || e.extension !== extension || e.manufacturer !== manufacturer) continue;
    if (e.productIncludes && !p.includes(e.productIncludes)) continue;
    return e;
  }
  return undefined;
}

/** What the decode command and the logs print about the calling product. */
export interface VendorSummary {
  country: number;
  extension: number;
  manufacturer: number;
  manufacturerName: string;
  productId: string;
  versionId: string;
}

export function vendorSummary(v: VendorIdentifier): VendorSummary {
  const h = v.vendor;
  const productId = octetText(v.productId);
  const e = lookupT35(h.t35CountryCode, h.t35Extension, h.manufacturerCode, productId);
  return {
    country: h.t35CountryCode,
    extension: h.t35Extension,
    manufacturer: h.manufacturerCode,
    manufacturerName: e?.name ?? UNKNOWN_VENDOR,
    productId,
    versionId: octetText(v.versionId),
  };
}

/**
 * The classification identity of an H.323 client. A manufacturer code missing from the table still
 * makes a vendor level of its own (`T.35 181/0/1234`), so that the products of one unknown
 * manufacturer share what they teach; without a vendor field only the protocol level remains.
 */
export function identifyH323(v: VendorIdentifier | undefined): ClientIdentity {
  if (!v) return { protocol: 'h323', vendor: '', product: '', version: '' };
  const s = vendorSummary(v);
  const e = lookupT35(s.country, s.extension, s.manufacturer, s.productId);
  const vendor = e?.vendor ?? `T.35 ${s.country}/${s.extension}/${s.manufacturer}`;
  return { protocol: 'h323', vendor, product: s.productId, version: s.productId ? s.versionId : '' };
}
