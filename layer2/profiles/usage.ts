import { statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Gauge, type Registry } from 'prom-client';

/**
 * How full the profile store is: `vcp_profile_store_bytes` (its data file) and the free and total
 * bytes of the file system holding it. LMDB grows its map as it needs; what runs out is the disk
 * (alert VcproxyProfileStoreNearlyFull), and then every profile write fails.
 */
export function registerStoreUsage(registry: Registry, path: string): void {
  const r = [registry];
  new Gauge({
    name: 'vcp_profile_store_bytes', help: 'size of the profile store data file (LMDB data.mdb)', registers: r,
    collect(this: Gauge) {
      try {
        this.set(statSync(join(path, 'data.mdb')).size);
      } catch {
        this.set(0);
      }
    },
  });
  const fs = (pick: (s: { bavail: number; blocks: number; bsize: number }) => number) => function (this: Gauge): void {
    try {
      this.set(pick(statfsSync(path)));
    } catch {
      // not there yet: no sample
    }
  };
  new Gauge({ name: 'vcp_profile_store_filesystem_free_bytes', help: 'bytes free for the service on the file system of the profile store', registers: r, collect: fs((s) => s.bavail * s.bsize) });
  new Gauge({ name: 'vcp_profile_store_filesystem_size_bytes', help: 'size of the file system of the profile store', registers: r, collect: fs((s) => s.blocks * s.bsize) });
}
