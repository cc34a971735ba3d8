import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TokensConfig } from '../../shared/config/types.js';
import { VcpError } from '../../shared/errors.js';
import { secretFile } from '../secret-file.js';
import type { TokenKey } from './tokens.js';

const MIN = 32;

function readKey(file: string, what: string): string {
  const k = readFileSync(file, 'utf8').trim();
  if (k.length < MIN) throw new VcpError('VCP_ERR_TOKEN_KEY', `the ${what} in ${file} is shorter than ${MIN} characters`);
  return k;
}

/** The key file, created (mode 0600, 32 random octets as hex) when it does not exist. */
function keyFile(file: string): { key: string; created: boolean } {
  let got: { text: string; created: boolean };
  try {
    got = secretFile(file, () => randomBytes(32).toString('hex'));
  } catch (err) {
    throw new VcpError('VCP_ERR_TOKEN_KEY', `cannot create the token key ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  if (got.text.length < MIN) throw new VcpError('VCP_ERR_TOKEN_KEY', `the token key in ${file} is shorter than ${MIN} characters`);
  return { key: got.text, created: got.created };
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
