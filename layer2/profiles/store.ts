import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { VcpError } from '../../shared/errors.js';
import type { ClassKey } from '../identify.js';
import type { ClassProfile, NetworkId, NetworkProfile, ProfileSnapshot } from '../decide/types.js';
import { applyClassOp, applyNetworkOp, applyRedirectOp } from './apply.js';
import { MAX_EVENT_BYTES, screenOps, type Op, type OutcomeEntry, type ProfileEvent, type RedirectRecord } from './events.js';

/** A profile store that cannot be opened or used: names its path. */
export class StoreError extends VcpError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('VCP_ERR_PROFILE_STORE', `profile store ${path}: ${message}`, options);
    this.path = path;
  }
}

const FORMAT = 'vcproxy-profiles';
const VERSION = 1;
/** The named database holding everything; the root holds only its entry. */
const DB_NAME = 'profiles';
/** msgpack record structures shared by every process (stored in the database): smaller, faster decodes. */
const STRUCTURES = Symbol.for('vcp-structures');

/** Key prefixes: one LMDB database, ordered string keys. */
const META = 'm:meta';
const CLS = 'c:';
const NET = 'n:';
const RED = 'r:';
/** Arrival identifier digest → redirect token (route/identifiers.ts). */
const IDX = 'i:';
const LOG = 'l:';
const SEQ = 's:';
const APPLIED = 'a:';
/** Sequence numbers applied above an origin's `upTo` (a hole below them): `b:<origin>\0<16-digit seq>`. */
const ABOVE = 'b:';
/** Local events awaiting their publication to the other POPs, in commit order (`o:<16-digit number>`). */
const OUTBOX = 'o:';
const OUTBOX_SEQ = 'm:outbox';
/** Host-local state (not replicated): live load per worker, server health, drains. */
const LOCAL = 'x:';

interface Applied {
  upTo: number;
  /** Written by earlier versions only: the numbers above `upTo` are now keys of their own (ABOVE). */
  above: number[];
  /** How many ABOVE keys the origin has. */
  pending?: number;
}

/** Numbers applied above a hole, per origin, before the hole is given up (the events it stands for are gone from the stream). */
export const MAX_ABOVE = 100_000;

const aboveKey = (origin: string, seq: number): string => `${ABOVE}${origin}\u0000${String(seq).padStart(16, '0')}`;

/** What the store tells its owner: ops refused by the local screen, holes given up. */
export interface StoreNotice {
  kind: 'refused' | 'hole-abandoned';
  origin: string;
  detail: string;
  count: number;
}

/** Reads inside a write transaction: what `transact` callbacks decide from. */
export interface StoreView {
  classProfile(key: string): ClassProfile | undefined;
  networkProfile(key: string): NetworkProfile | undefined;
  redirect(token: string): RedirectRecord | undefined;
}

/**
 * LMDB trusts its data file: opening garbage can crash the process. The first meta page is checked
 * here first (the magic 0xBEEFC0DE after the page header), so a damaged file is an error, not a crash.
 */
function checkDataFile(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const head = Buffer.alloc(32);
  let n = 0;
  try {
    const fd = openSync(file, 'r');
    try {
      n = readSync(fd, head, 0, 32, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    return `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  if (n < 32) return 'is truncated (no meta page)';
  if (head.readUInt32LE(24) !== 0xbeefc0de && head.readUInt32LE(16) !== 0xbeefc0de) return 'is not an LMDB data file (no meta page magic)';
  return undefined;
}

function targetOf(op: Op): 'class' | 'net' | 'redirect' | 'log' {
  switch (op.o) {
    case 'cls':
      return 'class';
    case 'override':
    case 'reset':
      return op.kind === 'class' ? 'class' : 'net';
    case 'srv':
    case 'rtt':
    case 'block':
      return 'net';
    case 'redirect':
    case 'close':
      return 'redirect';
    case 'log':
      return 'log';
  }
}

type Value = ClassProfile | NetworkProfile | RedirectRecord | OutcomeEntry | ProfileEvent | Applied | number | string | Record<string, unknown>;

interface SharedStructures {
  uninitialized?: boolean;
}
interface StructuredEncoder {
  structures?: SharedStructures;
  saveStructures?: (structures: unknown, isCompatible: unknown) => unknown;
}

/**
 * A record of a new shape first saves the shape (msgpack's shared structures) in its own commit. When
 * that commit fails (a full disk), msgpackr keeps the unsaved shape in memory and later records would
 * refer to it: no other process could decode them. So a failed save marks the shapes for reloading
 * from the store, and the record is written (with a saved shape) by a later write.
 */
function guardStructures<D extends Database<Value, string>>(db: D): D {
  const enc = (db as unknown as { encoder?: StructuredEncoder }).encoder;
  const save = enc?.saveStructures;
  if (enc && save) {
    enc.saveStructures = (structures, isCompatible) => {
      try {
        return save.call(enc, structures, isCompatible);
      } catch (err) {
        if (enc.structures) enc.structures.uninitialized = true;
        throw err;
      }
    };
  }
  return db;
}

/**
 * The profiles of one host in LMDB, shared by every connector process on it: class profiles, network
 * profiles, redirect records and a bounded outcome log, written as events (see events.ts) in single
 * write transactions, so concurrent processes never lose an increment and a killed process never
 * leaves half an event. Reads go through lmdb's validated cache: a hit costs a version check, and a
 * commit by another process is seen at once.
 */
/** A decoded profile of the hot-path cache, the bytes it was decoded from (none: written here), and until when it is trusted. */
interface CacheEntry<T> {
  v: T | undefined;
  bytes: Buffer | undefined;
  until: number;
}

export class ProfileStore {
  path: string;
  readonly origin: string;
  readonly #root: RootDatabase<Value, string>;
  /** Uncached: every read inside a write transaction must see the latest commit of any process. */
  readonly #db: Database<Value, string>;
  /** lmdb's validated cache for the hot path: a hit costs a version check, not a decode. */
  readonly #read: Database<Value, string>;
  readonly #logSize: number;
  /**
   * Decoded profiles for the hot path, each trusted for `#ttl` ms: a hit is a Map lookup, not a call
   * into LMDB. Another process's commit is seen within that time; this process's own writes drop
   * their keys from here as soon as they are committed.
   */
  readonly #classCache = new Map<string, CacheEntry<ClassProfile>>();
  readonly #netCache = new Map<string, CacheEntry<NetworkProfile>>();
  /** The stores' msgpack decoder (with the shared structures), for bytes read with getBinaryFast. */
  readonly #decoder: { decode(bytes: Uint8Array): unknown };
  readonly #ttl: number;
  /** Every local event is also written to the outbox (replication is configured). */
  readonly #outbox: boolean;
  #closed = false;
  /** Ops refused by the local screen and holes given up are reported here (metrics, a log line). */
  onNotice: ((n: StoreNotice) => void) | undefined;
  /** Writes that failed (a full disk or map, an I/O error), and when the last one failed and succeeded. */
  writeErrors = 0;
  #lastWriteError: { at: number; message: string } | undefined;
  #lastWriteOk = 0;

  private constructor(path: string, origin: string, root: RootDatabase<Value, string>, logSize: number, readCacheMs: number, outbox: boolean) {
    this.path = path;
    this.#outbox = outbox;
    this.origin = origin;
    this.#root = root;
    this.#db = guardStructures(root.openDB<Value, string>(DB_NAME, { cache: false, sharedStructuresKey: STRUCTURES }));
    this.#read = guardStructures(root.openDB<Value, string>(DB_NAME, { cache: { validated: true }, sharedStructuresKey: STRUCTURES }));
    this.#decoder = (this.#db as unknown as { decoder: { decode(bytes: Uint8Array): unknown } }).decoder;
    this.#logSize = logSize;
    this.#ttl = readCacheMs;
  }

  /**
   * Open (creating it when the directory is new or empty). A foreign or corrupt store is an error naming
   * the path. `openAt`: where to open it when that differs from the path it is known by (a directory
   * handle `/proc/self/fd/N` passed by the supervisor).
   */
  static open(displayPath: string, o: { origin: string; logSize?: number; readCacheMs?: number; outbox?: boolean; openAt?: string }): ProfileStore {
    const store = ProfileStore.#open(o.openAt ?? displayPath, o);
    store.path = displayPath;
    return store;
  }

  static #open(path: string, o: { origin: string; logSize?: number; readCacheMs?: number; outbox?: boolean }): ProfileStore {
    const fresh = !existsSync(path) || readdirSync(path).length === 0;
    try {
      mkdirSync(path, { recursive: true });
    } catch (err) {
      throw new StoreError(path, `cannot create the directory (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
    }
    if (!fresh && !existsSync(`${path}/data.mdb`)) throw new StoreError(path, 'the directory holds other files and no profile store; refusing to create one there');
    const badFile = checkDataFile(`${path}/data.mdb`);
    if (badFile) throw new StoreError(path, `data.mdb ${badFile}; move the store away to start afresh`);
    let root: RootDatabase<Value, string>;
    try {
      // No event-turn batching: its internal batch promise rejects unhandled when a commit fails (a
      // full disk), which would take the process down; transactions are batched by the writer anyway.
      root = open<Value, string>({ path, noSubdir: false, cache: false, maxReaders: 252, eventTurnBatching: false });
    } catch (err) {
      throw new StoreError(path, `not a readable LMDB store (${(err as Error).message}); move it away to start afresh`, { cause: err });
    }
    let meta: unknown;
    try {
      for (const k of root.getKeys({ limit: 10 })) {
        if (k !== DB_NAME) throw new StoreError(path, 'an LMDB store that is not a vcproxy profile store (unknown records); refusing to use it');
      }
      const db = root.openDB<Value, string>(DB_NAME, { cache: false, sharedStructuresKey: STRUCTURES });
      meta = db.get(META);
      if (meta === undefined) {
        let any = false;
        for (const _ of db.getKeys({ limit: 1 })) any = true;
        if (any) throw new StoreError(path, 'an LMDB store that is not a vcproxy profile store (no format record); refusing to use it');
        root.transactionSync(() => {
          if (db.get(META) === undefined) db.putSync(META, { format: FORMAT, version: VERSION, createdAt: Date.now() });
        });
        meta = db.get(META);
      }
    } catch (err) {
      root.close();
      if (err instanceof StoreError) throw err;
      throw new StoreError(path, `cannot read the store (${(err as Error).message})`, { cause: err });
    }
    const m = meta as { format?: unknown; version?: unknown };
    if (m?.format !== FORMAT) {
      root.close();
      throw new StoreError(path, `holds data of another format (${JSON.stringify(m?.format ?? null)}); refusing to use it`);
    }
    if (typeof m.version !== 'number' || m.version > VERSION) {
      root.close();
      throw new StoreError(path, `was written by a newer version (format version ${String(m.version)}, this build reads ${VERSION})`);
    }
    return new ProfileStore(path, o.origin, root, o.logSize ?? 10_000, o.readCacheMs ?? 250, o.outbox ?? false);
  }

  classProfile(key: string): ClassProfile | undefined {
    return this.#get(CLS + key) as ClassProfile | undefined;
  }

  networkProfile(key: string): NetworkProfile | undefined {
    return this.#get(NET + key) as NetworkProfile | undefined;
  }

  redirect(token: string): RedirectRecord | undefined {
    return this.#get(RED + token) as RedirectRecord | undefined;
  }

  /** Records that could not be decoded: read as absent, so that decisions go on from the rest. */
  readErrors = 0;

  #get(key: string): Value | undefined {
    try {
      return this.#read.get(key);
    } catch {
      this.readErrors++;
      return undefined;
    }
  }

  /** The redirect record one of these identifier digests was issued with, if any. */
  redirectByDigest(digests: readonly string[]): RedirectRecord | undefined {
    for (const d of digests) {
      const token = this.#get(IDX + d) as string | undefined;
      const rec = token ? this.redirect(token) : undefined;
      if (rec?.ids?.includes(d)) return rec;
    }
    return undefined;
  }

  /** The profiles a decision reads, aligned with the class chain and the network identifiers. */
  snapshot(chain: readonly ClassKey[], networks: readonly NetworkId[]): ProfileSnapshot {
    const now = Date.now();
    const classes: Array<ClassProfile | undefined> = new Array(chain.length);
    for (let i = 0; i < chain.length; i++) classes[i] = this.#cached(this.#classCache, CLS, chain[i]!.key, now);
    const nets: Array<NetworkProfile | undefined> = new Array(networks.length);
    for (let i = 0; i < networks.length; i++) nets[i] = this.#cached(this.#netCache, NET, networks[i]!.key, now);
    return { classes, networks: nets };
  }

  /**
   * Keyed by the profile key itself (no prefix concatenated): the chain's strings hash once. An entry
   * past its time is checked against the stored bytes: the same bytes are the same profile (the shared
   * structures only grow), so it is trusted again without a decode; other bytes are decoded.
   */
  #cached<T extends ClassProfile | NetworkProfile>(cache: Map<string, CacheEntry<T>>, prefix: string, key: string, now: number): T | undefined {
    const e = cache.get(key);
    if (e !== undefined && e.until > now) return e.v;
    let raw: Buffer | undefined;
    try {
      // lmdb's fast read returns its reused global buffer with the value's size as `length` (an own
      // property the Buffer methods do not see): a view of exactly those bytes, no copy.
      const fast = this.#db.getBinaryFast(prefix + key);
      raw = fast === undefined ? undefined : Buffer.from(fast.buffer, fast.byteOffset, fast.length);
    } catch {
      this.readErrors++;
      raw = undefined;
    }
    if (e !== undefined && (raw === undefined ? e.v === undefined : e.bytes !== undefined && e.bytes.length === raw.length && e.bytes.equals(raw))) {
      e.until = now + this.#ttl;
      return e.v;
    }
    let v: T | undefined;
    let bytes: Buffer | undefined;
    if (raw !== undefined) {
      // The fast read's buffer is reused by the next read (the decoder's own read of the shared
      // structures included): copy first, decode the copy, keep it to compare with.
      bytes = Buffer.allocUnsafe(raw.length);
      raw.copy(bytes);
      try {
        v = this.#decoder.decode(bytes) as T;
      } catch {
        bytes = undefined;
        this.readErrors++;
      }
    }
    if (e !== undefined) {
      e.v = v;
      e.bytes = bytes;
      e.until = now + this.#ttl;
      return v;
    }
    if (cache.size >= 131_072) cache.clear();
    cache.set(key, { v, bytes, until: now + this.#ttl });
    return v;
  }

  /** After a commit: this process's hot-path cache holds what it just wrote (no re-read, no decode). */
  #remember(written: ReadonlyMap<string, ClassProfile | NetworkProfile>): void {
    const until = Date.now() + this.#ttl;
    for (const [k, v] of written) {
      if (k.startsWith(CLS)) this.#classCache.set(k.slice(CLS.length), { v: v as ClassProfile, bytes: undefined, until });
      else this.#netCache.set(k.slice(NET.length), { v: v as NetworkProfile, bytes: undefined, until });
    }
  }

  /**
   * Run `decideOps` inside one write transaction (reads see every commit, from any process) and apply
   * the ops it returns as one local event. Resolves with the event once it is committed, or undefined
   * when there was nothing to write.
   */
  transact(decideOps: (view: StoreView) => Op[] | undefined): Promise<ProfileEvent | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    const db = this.#db;
    const written = new Map<string, ClassProfile | NetworkProfile>();
    return this.#tracked(() => this.#root.transaction(() => {
      const view: StoreView = {
        classProfile: (k) => db.get(CLS + k) as ClassProfile | undefined,
        networkProfile: (k) => db.get(NET + k) as NetworkProfile | undefined,
        redirect: (t) => db.get(RED + t) as RedirectRecord | undefined,
      };
      const decided = decideOps(view);
      if (!decided || decided.length === 0) return undefined;
      // The same screen the other POPs apply: what is committed here is never rejected there.
      const { ok: ops, refused } = screenOps(decided);
      if (refused.length > 0) this.#notice('refused', this.origin, refused[0]!, refused.length);
      if (ops.length === 0) return undefined;
      const seq = ((db.get(SEQ + this.origin) as number | undefined) ?? 0) + 1;
      const at = Date.now();
      const ev: ProfileEvent = { origin: this.origin, seq, at, ops };
      if (this.#outbox && JSON.stringify(ev).length > MAX_EVENT_BYTES) {
        this.#notice('refused', this.origin, `an event of more than ${MAX_EVENT_BYTES} bytes`, ops.length);
        return undefined;
      }
      this.#applyOps(ev, written);
      db.putSync(SEQ + this.origin, seq);
      this.#markApplied(this.origin, seq);
      if (this.#outbox) {
        // In the same transaction: an event that is committed is also queued for the other POPs.
        const n = ((db.get(OUTBOX_SEQ) as number | undefined) ?? 0) + 1;
        db.putSync(OUTBOX_SEQ, n);
        db.putSync(OUTBOX + String(n).padStart(16, '0'), ev);
      }
      return ev;
    })).then((ev) => {
      this.#remember(written);
      return ev;
    });
  }

  /**
   * Inside transactions the writes are synchronous (`putSync`): a write's own promise would reject
   * unhandled when the commit fails. Every write goes through here: a failure (LMDB cannot grow its map, the disk is full, an I/O
   * error) is counted and remembered for the health endpoints, then passed on to the caller. Reads
   * keep working, so decisions go on from what the store holds.
   */
  #tracked<T>(write: () => Promise<T>): Promise<T> {
    let p: Promise<T>;
    try {
      p = write();
    } catch (err) {
      // A write can also fail before it is queued (msgpack saving a new record shape commits at once).
      p = Promise.reject(err);
    }
    return p.then(
      (v) => {
        this.#lastWriteOk = Date.now();
        return v;
      },
      (err: unknown) => {
        this.writeErrors++;
        this.#lastWriteError = { at: Date.now(), message: err instanceof Error ? err.message : String(err) };
        // lmdb rejects a failed commit with an error whose `commitError` is a second promise, rejected
        // with the cause (ENOSPC...): handled here, it cannot surface as an unhandled rejection.
        const cause = (err as { commitError?: unknown } | null)?.commitError;
        if (cause instanceof Promise) {
          cause.catch((e: unknown) => {
            if (this.#lastWriteError) this.#lastWriteError.message = e instanceof Error ? e.message : String(e);
          });
        }
        throw err;
      },
    );
  }

  /** Failing: the last write failed less than `windowMs` ago and none succeeded since. */
  writeHealth(now = Date.now(), windowMs = 60_000): { failing: boolean; errors: number; lastError: string; lastErrorAt: number } {
    const e = this.#lastWriteError;
    const failing = e !== undefined && now - e.at < windowMs && e.at >= this.#lastWriteOk;
    return { failing, errors: this.writeErrors, lastError: e?.message ?? '', lastErrorAt: e?.at ?? 0 };
  }

  record(ops: Op[]): Promise<ProfileEvent | undefined> {
    return this.transact(() => ops);
  }

  /** Apply another origin's event once: 'duplicate' when its sequence number was seen already. */
  applyRemote(ev: ProfileEvent): Promise<'applied' | 'duplicate'> {
    const written = new Map<string, ClassProfile | NetworkProfile>();
    return this.#tracked(() => this.#root.transaction(() => {
      if (this.#seen(ev.origin, ev.seq)) return 'duplicate' as const;
      this.#applyOps(ev, written);
      this.#markApplied(ev.origin, ev.seq);
      return 'applied' as const;
    })).then((r) => {
      this.#remember(written);
      return r;
    });
  }

  /**
   * Count another origin's event as applied without applying anything: an event the screen refused
   * (malformed, too large) must not leave a hole that holds every later number in wait for ever.
   */
  skipRemote(origin: string, seq: number): Promise<'skipped' | 'duplicate'> {
    return this.#tracked(() => this.#root.transaction(() => {
      if (this.#seen(origin, seq)) return 'duplicate' as const;
      this.#markApplied(origin, seq);
      return 'skipped' as const;
    }));
  }

  #seen(origin: string, seq: number): boolean {
    const a = this.#db.get(APPLIED + origin) as Applied | undefined;
    if (!a) return false;
    return seq <= a.upTo || a.above.includes(seq) || ((a.pending ?? 0) > 0 && this.#db.get(aboveKey(origin, seq)) !== undefined);
  }

  /** The oldest queued local events, in commit order (any process of the host may have written them). */
  outbox(limit: number): Array<{ key: string; event: ProfileEvent }> {
    const out: Array<{ key: string; event: ProfileEvent }> = [];
    for (const { key, value } of this.#db.getRange({ start: OUTBOX, end: `${OUTBOX}\uffff`, limit })) out.push({ key, event: value as ProfileEvent });
    return out;
  }

  /** Drop outbox entries once the other POPs can have them. */
  async removeOutbox(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#tracked(() => this.#root.transaction(() => {
      for (const k of keys) if (k.startsWith(OUTBOX)) this.#db.removeSync(k);
    }));
  }

  outboxCount(): number {
    return this.#db.getKeysCount({ start: OUTBOX, end: `${OUTBOX}\uffff` });
  }

  /** Highest contiguous sequence number applied per origin. */
  appliedUpTo(origin: string): number {
    return ((this.#db.get(APPLIED + origin) as Applied | undefined) ?? { upTo: 0 }).upTo;
  }

  /**
   * Inside a write transaction: `seq` of `origin` is applied. The contiguous part is one number
   * (`upTo`); a number above a hole is a key of its own, removed as the hole fills, so one apply
   * costs the same however many numbers wait above a hole.
   */
  #markApplied(origin: string, seq: number): void {
    const db = this.#db;
    const a = (db.get(APPLIED + origin) as Applied | undefined) ?? { upTo: 0, above: [] };
    let upTo = a.upTo;
    let pending = a.pending ?? 0;
    for (const x of a.above) {
      if (x > upTo && db.get(aboveKey(origin, x)) === undefined) {
        db.putSync(aboveKey(origin, x), 1);
        pending++;
      }
    }
    const drain = (): void => {
      while (pending > 0 && db.get(aboveKey(origin, upTo + 1)) !== undefined) {
        db.removeSync(aboveKey(origin, upTo + 1));
        upTo++;
        pending--;
      }
    };
    if (seq === upTo + 1) {
      upTo = seq;
      drain();
    } else if (seq > upTo) {
      db.putSync(aboveKey(origin, seq), 1);
      pending++;
      if (pending > MAX_ABOVE) {
        // The hole has waited for more events than any redelivery keeps in flight: its events are gone.
        for (const k of db.getKeys({ start: aboveKey(origin, 0), end: aboveKey(origin, Number.MAX_SAFE_INTEGER), limit: 1 })) {
          const first = Number(k.slice(k.lastIndexOf('\u0000') + 1));
          this.#notice('hole-abandoned', origin, `numbers ${upTo + 1}..${first - 1} never arrived`, first - 1 - upTo);
          upTo = first - 1;
        }
        drain();
      }
    }
    db.putSync(APPLIED + origin, { upTo, above: [], pending });
  }

  #notice(kind: StoreNotice['kind'], origin: string, detail: string, count: number): void {
    try {
      this.onNotice?.({ kind, origin, detail, count });
    } catch {
      // a notice must never break a write
    }
  }

  #applyOps(ev: ProfileEvent, written: Map<string, ClassProfile | NetworkProfile>): void {
    const db = this.#db;
    for (const op of ev.ops) {
      switch (targetOf(op)) {
        case 'class': {
          const key = CLS + (op as { key: string }).key;
          const prev = db.get(key) as ClassProfile | undefined;
          const next = applyClassOp(prev, op);
          if (next && next !== prev) {
            db.putSync(key, next);
            written.set(key, next);
          }
          break;
        }
        case 'net': {
          const key = NET + (op as { key: string }).key;
          const prev = db.get(key) as NetworkProfile | undefined;
          const next = applyNetworkOp(prev, op);
          if (next && next !== prev) {
            db.putSync(key, next);
            written.set(key, next);
          }
          break;
        }
        case 'redirect': {
          const key = RED + (op.o === 'redirect' ? op.rec.token : (op as { token: string }).token);
          const prev = db.get(key) as RedirectRecord | undefined;
          const next = applyRedirectOp(prev, op);
          if (next && next !== prev) db.putSync(key, next);
          if (op.o === 'redirect') for (const d of op.rec.ids ?? []) db.putSync(IDX + d, op.rec.token);
          break;
        }
        case 'log':
          db.putSync(`${LOG}${ev.origin}:${ev.seq % this.#logSize}`, (op as { entry: OutcomeEntry }).entry);
          break;
      }
    }
  }

  /** Profiles by key prefix (`sip/polycom` lists that vendor's levels), in key order. */
  list(kind: 'class' | 'net', prefix = '', limit = 100): Array<ClassProfile | NetworkProfile> {
    const p = (kind === 'class' ? CLS : NET) + prefix;
    const out: Array<ClassProfile | NetworkProfile> = [];
    for (const { value } of this.#db.getRange({ start: p, end: `${p}\uffff`, limit })) out.push(value as ClassProfile | NetworkProfile);
    return out;
  }

  count(kind: 'class' | 'net' | 'redirect'): number {
    const p = kind === 'class' ? CLS : kind === 'net' ? NET : RED;
    return this.#db.getKeysCount({ start: p, end: `${p}\uffff` });
  }

  /** Redirect records still open, for the sweep after a restart. */
  openRedirects(limit = 100_000): RedirectRecord[] {
    const out: RedirectRecord[] = [];
    for (const { value } of this.#db.getRange({ start: RED, end: `${RED}\uffff` })) {
      const r = value as RedirectRecord;
      if (r.state === 'open') out.push(r);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Remove closed redirect records older than `before` (the records of open ones stay). */
  async pruneRedirects(before: number): Promise<number> {
    const old: string[] = [];
    for (const { key, value } of this.#db.getRange({ start: RED, end: `${RED}\uffff` })) {
      const r = value as RedirectRecord;
      if (r.state !== 'open' && r.closedAt < before) {
        old.push(key);
        for (const d of r.ids ?? []) old.push(IDX + d);
      }
    }
    await this.#tracked(() => this.#root.transaction(() => {
      for (const k of old) this.#db.removeSync(k);
    }));
    return old.length;
  }

  /** The newest outcome-log entries, newest first. */
  outcomes(limit = 100): OutcomeEntry[] {
    const all: OutcomeEntry[] = [];
    for (const { value } of this.#db.getRange({ start: LOG, end: `${LOG}\uffff` })) all.push(value as OutcomeEntry);
    all.sort((a, b) => b.at - a.at);
    return all.slice(0, limit);
  }

  // ---- host-local state (not replicated) --------------------------------------------------------

  putLocal(key: string, value: Record<string, unknown>): Promise<boolean> {
    return this.#tracked(() => this.#db.put(LOCAL + key, value));
  }

  removeLocal(key: string): Promise<boolean> {
    return this.#tracked(() => this.#db.remove(LOCAL + key));
  }


  rangeLocal<T>(prefix: string): Array<{ key: string; value: T }> {
    const p = LOCAL + prefix;
    const out: Array<{ key: string; value: T }> = [];
    try {
      for (const { key, value } of this.#db.getRange({ start: p, end: `${p}\uffff` })) out.push({ key: key.slice(LOCAL.length), value: value as T });
    } catch {
      // A record that cannot be decoded ends the walk; what was read is used.
      this.readErrors++;
    }
    return out;
  }

  /** Resolves when every write so far is on disk. */
  get flushed(): Promise<boolean> {
    return this.#root.flushed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#root.close();
  }
}
