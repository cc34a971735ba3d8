import { Kind, OptionalKind, type TSchema } from '@sinclair/typebox';
import { ConfigSchema } from './schema.js';

/**
 * The configuration reference's tables (docs/configuration.md), generated from the schema: one row
 * per key with its default (`default`, or `defaultText`, or "required") and its meaning
 * (`description`). `npm run config-docs` writes them between the document's
 * `<!-- config-table: NAME -->` markers; a unit test fails when the document and the schema
 * disagree, and when a key belongs to no table.
 */

/** The document holding the tables, relative to the repository root. */
export const CONFIG_DOC = 'docs/configuration.md';

export interface KeyRow {
  /** `servers[].sipPort`, `replication.hosts.<connector>.servers` */
  path: string;
  default: string;
  meaning: string;
}

/** The tables: which keys each lists (a key, or every key below it), in this order. */
export const CONFIG_TABLES: Readonly<Record<string, readonly string[]>> = {
  file: [
    'pop', 'wellKnown', 'pops[].name', 'connectors',
    'servers[].name', 'servers[].pop', 'servers[].address', 'servers[].sipPort', 'servers[].sipTransport', 'servers[].h323Port', 'servers[].builtin',
    'sip', 'runAs', 'service',
  ],
  layer1: ['layer1'],
  topology: [
    'pops[].kind', 'pops[].region', 'pops[].reachableFrom', 'servers[].capacity', 'servers[].workTypes', 'servers[].probe',
    'serverHealth', 'networks', 'customers', 'geo', 'techniques', 'workTypes', 'profiles', 'learning', 'admin', 'tokens',
  ],
  replication: ['replication'],
  'web-dns': ['pops[].web', 'web', 'meetings', 'dns'],
  h323: ['h323'],
  limits: ['limits'],
  failover: ['failover'],
};

type Node = TSchema & { description?: string; defaultText?: string; keyName?: string; default?: unknown };

/** Every documented key of the schema, in schema order. */
export function schemaKeys(schema: TSchema = ConfigSchema): KeyRow[] {
  const rows: KeyRow[] = [];
  const walk = (s: Node, path: string, required: boolean): void => {
    const kind = s[Kind] as string;
    if (kind === 'Object') {
      const req = new Set<string>((s as { required?: string[] }).required ?? []);
      for (const [k, child] of Object.entries((s as unknown as { properties: Record<string, Node> }).properties)) {
        const isOptional = (child as unknown as Record<symbol, unknown>)[OptionalKind] === 'Optional';
        walk(child, path ? `${path}.${k}` : k, req.has(k) && !isOptional);
      }
      return;
    }
    if (kind === 'Array') {
      const items = (s as unknown as { items: Node }).items;
      if (items[Kind] === 'Object') return walk(items, `${path}[]`, true);
    }
    if (kind === 'Record') {
      const value = Object.values((s as unknown as { patternProperties: Record<string, Node> }).patternProperties)[0]!;
      if (value[Kind] === 'Object') return walk(value, `${path}.<${s.keyName ?? 'name'}>`, true);
    }
    rows.push({ path, default: defaultOf(s, required), meaning: s.description ?? '' });
  };
  walk(schema as Node, '', true);
  return rows;
}

function defaultOf(s: Node, required: boolean): string {
  if (s.defaultText !== undefined) return s.defaultText;
  const d = s.default;
  if (d === undefined) return required ? 'required' : 'none';
  if (typeof d === 'string') return d === '' ? '`\'\'`' : `\`${d}\``;
  if (Array.isArray(d)) return d.length === 0 ? '`[]`' : `\`[${d.join(', ')}]\``;
  if (typeof d === 'object') return 'none';
  if (typeof d === 'boolean') return `\`${d}\``;
  return String(d);
}

const matches = (path: string, sel: string): boolean => path === sel || path.startsWith(`${sel}.`) || path.startsWith(`${sel}[`);

/** The rows of one table, in the order of its selectors. */
export function tableRows(name: string, keys: readonly KeyRow[] = schemaKeys()): KeyRow[] {
  const sels = CONFIG_TABLES[name];
  if (!sels) throw new Error(`no configuration table named ${name}`);
  const out: KeyRow[] = [];
  for (const sel of sels) for (const k of keys) if (matches(k.path, sel) && !out.includes(k)) out.push(k);
  return out;
}

/** Keys that no table lists, and keys that two tables list. */
export function tableCoverage(keys: readonly KeyRow[] = schemaKeys()): { missing: string[]; twice: string[] } {
  const count = new Map<string, number>();
  for (const name of Object.keys(CONFIG_TABLES)) for (const r of tableRows(name, keys)) count.set(r.path, (count.get(r.path) ?? 0) + 1);
  return { missing: keys.filter((k) => !count.has(k.path)).map((k) => k.path), twice: [...count].filter(([, n]) => n > 1).map(([p]) => p) };
}

export function renderTable(name: string, keys?: readonly KeyRow[]): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = ['| key | default | meaning |', '|---|---|---|'];
  for (const r of tableRows(name, keys)) lines.push(`| \`${r.path}\` | ${cell(r.default)} | ${cell(r.meaning)} |`);
  return lines.join('\n');
}

const MARKER = /(<!-- config-table: ([a-z0-9-]+) -->\n)([\s\S]*?)(<!-- \/config-table -->)/g;

/** The document with every marked table regenerated from the schema. */
export function renderConfigDoc(doc: string): string {
  return doc.replace(MARKER, (_all, open: string, name: string, _old: string, close: string) => `${open}${renderTable(name)}\n${close}`);
}

/** Names of the tables the document marks. */
export function markedTables(doc: string): string[] {
  return [...doc.matchAll(MARKER)].map((m) => m[2]!);
}
