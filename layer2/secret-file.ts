import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A secret kept in a file (mode 0600), made by `make` when the file does not exist yet. Every process
 * of a host, and every connector of a config, may call this at once: the secret is written to a file
 * of its own and linked into place, so a reader never sees a half-written file and exactly one secret
 * wins. Returns the file's content, trimmed, and whether this call created it; file system errors are
 * thrown as they are.
 */
export function secretFile(file: string, make: () => string): { text: string; created: boolean } {
  if (existsSync(file)) return { text: readFileSync(file, 'utf8').trim(), created: false };
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, `${make()}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, file);
    return { text: readFileSync(file, 'utf8').trim(), created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { text: readFileSync(file, 'utf8').trim(), created: false };
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}
