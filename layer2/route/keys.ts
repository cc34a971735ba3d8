import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TokensConfig } from '../../shared/config/types.js';
import { VcpError } from '../../shared/errors.js';
import type { TokenKey } from './tokens.js';

const MIN = 32;

function readKey(file: string, what: string): string {
  const k = readFileSync(file, 'utf8').trim();
  if (k.length < MIN) throw new VcpError('VCP_ERR_TOKEN_KEY', `the ${what} in ${file} is shorter than ${MIN} characters`);
  return k;
}

/**
 * The key file, created (mode 0600, 32 random octets as hex) when it does not exist. Every process
 * of a host may call this at once: the key is written to a file of its own and linked into place, so
 * a reader never sees a half-written key and exactly one key wins.
 */
function keyFile(file: string): { key: string; created: boolean } {
  if (existsSync(file)) return { key: readKey(file, 'token key'), created: false };
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(tmp, file);
      return { key: readKey(file, 'token key'), created: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { key: readKey(file, 'token key'), created: false };
      throw err;
    } finally {
      unlinkSync(tmp);
    }
  } catch (err) {
    if (err instanceof VcpError) throw err;
    throw new VcpError('VCP_ERR_TOKEN_KEY', `cannot create the token key ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
}

/**
 * The keys tokens are signed and verified with: `tokens.key` (or the content of `tokens.keyFile`,
 * created at first start), then the previous key of a rotation, accepted until `previousUntil`.
 * `created`: the key file was made just now (a deployment of several hosts must share it instead).
 */
export function tokenKeys(c: TokensConfig): { keys: TokenKey[]; created: boolean } {
  const cur = c.key !== undefined ? { key: c.key, created: false } : keyFile(c.keyFile);
  const keys: TokenKey[] = [{ secret: Buffer.from(cur.key, 'utf8'), until: Infinity }];
  const previous = c.previousKey ?? (c.previousKeyFile ? readKey(c.previousKeyFile, 'previous token key') : undefined);
  if (previous !== undefined) keys.push({ secret: Buffer.from(previous, 'utf8'), until: c.previousUntil ? Date.parse(c.previousUntil) : Infinity });
  return { keys, created: cur.created };
}

/**
 * The tokens section with its keys read from their files, for a process that may not read them
 * itself: a supervisor reads them while still root and hands them to its workers (a worker restarted
 * after the drop could not reach a key file root made). `created`: as in `tokenKeys`.
 */
export function withKeys(c: TokensConfig): { tokens: TokensConfig; created: boolean } {
  const cur = c.key !== undefined ? { key: c.key, created: false } : keyFile(c.keyFile);
  const previousKey = c.previousKey ?? (c.previousKeyFile ? readKey(c.previousKeyFile, 'previous token key') : undefined);
  return { tokens: { ...c, key: cur.key, ...(previousKey !== undefined ? { previousKey } : {}) }, created: cur.created };
}
