import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { VcpError } from '../../shared/errors.js';
import { secretFile } from '../secret-file.js';

/**
 * The admin API's bearer token: `admin.token` from the config, else the content of `admin.tokenFile`,
 * which the connector creates (mode 0600) on first start when it does not exist. Operators and the CLI
 * read it from there.
 */
export function adminToken(admin: { token: string | undefined; tokenFile: string }, create: boolean): string {
  if (admin.token) return admin.token;
  const file = admin.tokenFile;
  if (!create && !existsSync(file)) throw new VcpError('VCP_ERR_ADMIN_TOKEN', `no admin token: ${file} does not exist (the connector creates it on first start) and the config sets no admin.token`);
  let t: string;
  try {
    t = create ? secretFile(file, () => randomBytes(24).toString('base64url')).text : readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new VcpError('VCP_ERR_ADMIN_TOKEN', `cannot ${create ? 'write' : 'read'} the admin token ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  if (t.length < 16) throw new VcpError('VCP_ERR_ADMIN_TOKEN', `the admin token in ${file} is shorter than 16 characters`);
  return t;
}
