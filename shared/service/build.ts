import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The installation this module belongs to: the folder holding package.json and dist/. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface BuildInfo {
  /** package.json's version (the Debian package's version when installed from it). */
  version: string;
  /** Identifies the code on disk: changes with any rebuild or upgrade. */
  code: string;
}

/**
 * The version and code identity of the installation on disk now: a hash of the name, size and
 * modification time of every compiled file. A process compares the value it started with to the
 * value at a reload to know that new code was installed (an upgrade) and its workers must be replaced.
 */
export function buildInfo(root = ROOT): BuildInfo {
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? version;
  } catch {
    // a tree without package.json: keep 'unknown'
  }
  const h = createHash('sha256').update(version);
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (p !== join(root, 'dist', 'test')) walk(p);
      } else if (e.name.endsWith('.js')) {
        const st = statSync(p);
        h.update(`${p.slice(root.length)}\0${st.size}\0${st.mtimeMs}\n`);
      }
    }
  };
  walk(join(root, 'dist'));
  return { version, code: h.digest('hex').slice(0, 12) };
}
