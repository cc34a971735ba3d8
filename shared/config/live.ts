/**
 * Live configuration sections. A module keeps the section object it was given and reads its values
 * when it uses them; a reload writes the new values into the same objects (`applyInPlace`), so that
 * they apply at once without the module being rebuilt. A module that derives state from its section
 * (the learning engine's topology, the gatekeeper's alternates) rebuilds it in its `reconfigure()`.
 */

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Make `target` equal to `source` while keeping the identity of every object and array that exists
 * in both: objects are updated key by key (keys gone from `source` are deleted), arrays get the new
 * elements in place. Elements of arrays are the new objects (a module that indexed old elements
 * rebuilds its index in `reconfigure()`).
 */
export function applyInPlace(target: object, source: object): void {
  const t = target as Obj;
  const s = source as Obj;
  for (const k of Object.keys(t)) if (!(k in s)) delete t[k];
  for (const [k, v] of Object.entries(s)) {
    const cur = t[k];
    if (isObject(cur) && isObject(v)) applyInPlace(cur, v);
    else if (Array.isArray(cur) && Array.isArray(v)) cur.splice(0, cur.length, ...(v as unknown[]));
    else t[k] = v;
  }
}

/** Deep equality of two JSON-like values (configuration sections). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => sameValue(a[k], b[k]));
  }
  return false;
}

/** The top-level keys whose values differ between two configurations. */
export function changedSections<T extends object>(a: T, b: T): Array<keyof T & string> {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !sameValue((a as Obj)[k], (b as Obj)[k])) as Array<keyof T & string>;
}
