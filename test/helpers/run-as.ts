import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { resolveIds } from '../../shared/privileges.js';

const root = process.getuid?.() === 0;

/**
 * A test's folder as a service's files are for the processes that gave up root (`runAs`, nobody by
 * default): its config readable on a reload, as /etc/vcproxy is, and a runtime directory of its own,
 * as systemd's RuntimeDirectory= is. Without root nothing changes hands.
 */
export function serviceFolder(dir: string): { runtimeDir: (name: string) => string } {
  if (root) for (let d = dir; d !== tmpdir() && d !== '/'; d = dirname(d)) chmodSync(d, 0o711);
  return {
    runtimeDir(name: string): string {
      const p = join(dir, name);
      mkdirSync(p, { recursive: true });
      if (root) {
        const { uid, gid } = resolveIds();
        chownSync(p, uid, gid);
      }
      return p;
    },
  };
}
