import { readFileSync } from 'node:fs';
import { ConfigError } from '../shared/errors.js';

/**
 * The control API's bearer token: `layer1.control.token`, else the content of
 * `layer1.control.tokenFile` (at least 16 characters); undefined when neither is set, which the
 * config allows only on a loopback address. A file that cannot be read stops the start.
 */
export function controlToken(c: { token?: string | undefined; tokenFile?: string | undefined }, configFile: string): string | undefined {
  if (c.token !== undefined) return c.token;
  if (c.tokenFile === undefined) return undefined;
  let t: string;
  try {
    t = readFileSync(c.tokenFile, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(configFile, 'layer1.control.tokenFile', `a readable file holding the control token (${c.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  if (t.length < 16) throw new ConfigError(configFile, 'layer1.control.tokenFile', `a token of at least 16 characters in ${c.tokenFile}`);
  return t;
}
