import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IssuedTechnique } from '../profiles/events.js';

/**
 * Tokens that only the deployment can mint. A token names the server a client is sent to, the
 * client class it was issued for, its expiry and the technique that issued it, under an HMAC-SHA256
 * with a key shared by the POPs; a client cannot forge one, change its server or stretch its life.
 *
 * Wire form: base64url (characters A–Z a–z 0–9 - _, so it fits a SIP URI parameter, an H.323 alias
 * and an HTTP query unescaped) of
 *
 *     0       1        2..9   10..13          14         15..18      19     20..20+n   +16
 *     version key id   id     expiry (s, BE)  technique  class hash  n      server     HMAC-SHA256[0..16)
 *
 * `id` (16 hex digits) is the key of the redirect record the token stands for. The key id is the
 * first octet of SHA-256 of the key, so a verifier tries only the key(s) it names; during a
 * rotation the previous key still verifies until its `until`.
 */

export interface TokenClaims {
  /** 16 lower-case hex digits: the redirect record's key. */
  id: string;
  server: string;
  /** The class key the token was issued for (verified by its hash). */
  cls: string;
  /** Epoch milliseconds (whole seconds) after which the token is refused. */
  expires: number;
  technique: IssuedTechnique;
}

export interface TokenKey {
  secret: Buffer;
  /** Epoch ms after which tokens under this key are refused (Infinity: the current key). */
  until: number;
}

/** Why a token was not accepted; counted by the router. */
export type TokenRefusal = 'malformed' | 'unknown_key' | 'bad_mac' | 'expired' | 'other_class' | 'unknown_server';

const VERSION = 1;
const HEAD = 20;
const MAC = 16;
const TECH: readonly IssuedTechnique[] = ['redirect', 'uri', 'http'];
const B64URL = /^[A-Za-z0-9_-]{40,200}$/;

/** FNV-1a over the class key: 32 bits bind the class without carrying it. */
export function classHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const keyId = (secret: Buffer): number => createHash('sha256').update(secret).digest()[0]!;

export class TokenSigner {
  readonly #current: TokenKey;
  readonly #keys: Array<TokenKey & { kid: number }>;

  /** `keys[0]` signs; every key verifies until its `until`. */
  constructor(keys: readonly TokenKey[]) {
    if (keys.length === 0 || keys.some((k) => k.secret.length < 16)) throw new RangeError('a token key of at least 16 octets is needed');
    this.#current = keys[0]!;
    this.#keys = keys.map((k) => ({ ...k, kid: keyId(k.secret) }));
  }

  /** A new token for `server`, for a client of class `cls`, valid until `expires` (epoch ms). */
  mint(c: Omit<TokenClaims, 'id'> & { id?: string }): { token: string; id: string } {
    const id = c.id ?? randomBytes(8).toString('hex');
    const server = Buffer.from(c.server, 'latin1');
    if (server.length > 255 || !/^[0-9a-f]{16}$/.test(id)) throw new RangeError('token id or server out of range');
    const b = Buffer.allocUnsafe(HEAD + server.length + MAC);
    b[0] = VERSION;
    b[1] = this.#keys[0]!.kid;
    b.write(id, 2, 8, 'hex');
    b.writeUInt32BE(Math.min(0xffffffff, Math.ceil(c.expires / 1000)), 10);
    b[14] = TECH.indexOf(c.technique);
    b.writeUInt32BE(classHash(c.cls), 15);
    b[19] = server.length;
    server.copy(b, HEAD);
    const body = b.subarray(0, HEAD + server.length);
    createHmac('sha256', this.#current.secret).update(body).digest().copy(b, HEAD + server.length, 0, MAC);
    return { token: b.toString('base64url'), id };
  }

  /**
   * The claims of a token, or why it is refused. `classes`: the class keys of the client that
   * presents it (its chain); the token's class must be one of them.
   */
  verify(token: string, now: number, classes: readonly string[]): { ok: true; claims: TokenClaims } | { ok: false; why: TokenRefusal } {
    if (!B64URL.test(token)) return { ok: false, why: 'malformed' };
    const b = Buffer.from(token, 'base64url');
    if (b.length < HEAD + MAC || b[0] !== VERSION || b.length !== HEAD + b[19]! + MAC || b[14]! >= TECH.length) return { ok: false, why: 'malformed' };
    const end = HEAD + b[19]!;
    const body = b.subarray(0, end);
    const mac = b.subarray(end);
    let known = false;
    let valid = false;
    for (const k of this.#keys) {
      if (k.kid !== b[1] || now > k.until) continue;
      known = true;
      const want = createHmac('sha256', k.secret).update(body).digest().subarray(0, MAC);
      if (timingSafeEqual(want, mac)) {
        valid = true;
        break;
      }
    }
    if (!known) return { ok: false, why: 'unknown_key' };
    if (!valid) return { ok: false, why: 'bad_mac' };
    const expires = b.readUInt32BE(10) * 1000;
    if (now > expires) return { ok: false, why: 'expired' };
    const h = b.readUInt32BE(15);
    const cls = classes.find((c) => classHash(c) === h);
    if (cls === undefined) return { ok: false, why: 'other_class' };
    return { ok: true, claims: { id: b.toString('hex', 2, 10), server: b.toString('latin1', HEAD, end), cls, expires, technique: TECH[b[14]!]! } };
  }
}
