/**
 * The identity of a client application and its classification chain, shared by the SIP and H.323
 * connectors and the web listener: exact version → product → vendor → protocol → default. A profile is kept for each level
 * so that a never-seen version inherits what its product family has shown.
 */
/** `web`: a browser, identified by its User-Agent (the join page and the HTTP redirect). */
export type Protocol = 'sip' | 'h323' | 'web';

export interface ClientIdentity {
  protocol: Protocol;
  vendor: string; // '' when unknown
  product: string; // '' when unknown
  version: string; // '' when unknown
}

export type ClassLevel = 'version' | 'product' | 'vendor' | 'protocol' | 'default';

export interface ClassKey {
  level: ClassLevel;
  key: string;
}

/**
 * Longest vendor, product or version part kept in a class key: a key stays well inside what the
 * profile events accept (512 characters), whatever a client sends as its User-Agent.
 */
export const MAX_CLASS_PART = 100;

const norm = (s: string): string => s.trim().toLowerCase().slice(0, MAX_CLASS_PART).trimEnd();

/** Most specific first; levels whose part is unknown are left out. Keys look like `sip/polycom/hdx 8000/3.1`. */
export function classChain(id: ClientIdentity): ClassKey[] {
  let out = chains.get(id);
  if (!out) {
    out = buildChain(id);
    chains.set(id, out);
  }
  return out;
}

/**
 * Chains by identity object: an identity the parsers cache (a User-Agent seen before) gives the same
 * chain, and the same key strings, whose hashes the profile cache then finds without rehashing.
 * The arrays are shared: callers read them and never change them.
 */
const chains = new WeakMap<ClientIdentity, ClassKey[]>();

function buildChain(id: ClientIdentity): ClassKey[] {
  const out: ClassKey[] = [];
  const p = id.protocol;
  const v = norm(id.vendor);
  const prod = norm(id.product);
  const ver = norm(id.version);
  if (v) {
    if (prod) {
      if (ver) out.push({ level: 'version', key: `${p}/${v}/${prod}/${ver}` });
      out.push({ level: 'product', key: `${p}/${v}/${prod}` });
    }
    out.push({ level: 'vendor', key: `${p}/${v}` });
  }
  out.push({ level: 'protocol', key: p });
  out.push({ level: 'default', key: 'default' });
  return out;
}

export function describeIdentity(id: ClientIdentity): string {
  return id.vendor ? [id.vendor, id.product, id.version].filter(Boolean).join(' ') : `unknown ${id.protocol} client`;
}
