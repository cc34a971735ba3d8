import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { VcpError } from '../../shared/errors.js';

/**
 * The admin API's bearer token: `admin.token` from the config, else the content of `admin.tokenFile`,
 * which the connector creates (mode 0600) on first start when it does not exist. Operators and the CLI
 * read it from there.
 */
export function adminToken(admin: { token: string | undefined; tokenFile: string }, create: boolean): string {
  if (admin.token) return admin.token;
  const file = admin.tokenFile;
  if (existsSync(file)) {
    const t = readFileSync(file, 'utf8').trim();
    if (t.length < 16) throw new VcpError('VCP_ERR_ADMIN_TOKEN', `the admin token in ${file} is shorter than 16 characters`);
    return t;
  }
  if (!create) throw new VcpError('VCP_ERR_ADMIN_TOKEN', `no admin token: ${file} does not exist (the connector creates it on first start) and the config sets no admin.token`);
  const t = randomBytes(24).toString('base64url');
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${t}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw new VcpError('VCP_ERR_ADMIN_TOKEN', `cannot write the admin token to ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  return t;
}
