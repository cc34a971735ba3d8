import { rmSync } from 'node:fs';
import { HEAVY_LOCK, lightDir, livePids, wantDir } from './guard.js';
import { killTagged, projectTag, removeTestNetworks, removeTestTemp, testContainers, testLinks, testNamespaces, testNftTables, testTempEntries } from './leftovers.js';

/**
 * Run by tap after the last test file (`after` in .taprc): proves that the suite left nothing behind.
 * Anything found is listed, removed, and fails the run (exit 1): a test that leaks on some exit path
 * is a test to fix, even when the next run would clean up after it.
 */
const found: string[] = [];
for (const p of killTagged(projectTag)) found.push(`process ${p.pid} (${p.cmd.slice(0, 120)}) started by ${p.tag.split('::')[1]}`);
for (const c of testContainers()) found.push(`LXC container ${c}`);
for (const ns of testNamespaces()) found.push(`network namespace ${ns}`);
for (const l of testLinks()) found.push(`link ${l}`);
for (const tb of testNftTables()) found.push(`nftables ${tb}`);
// The heavy labs' turn-taking folders (heavy.ts) are the runner's, not a test's: gone once no process is named there.
for (const d of [lightDir(HEAVY_LOCK), wantDir(HEAVY_LOCK)]) if (livePids(d, 0).length === 0) rmSync(d, { recursive: true, force: true });
for (const e of testTempEntries()) found.push(`temporary folder ${e}`);
if (process.getuid?.() === 0) removeTestNetworks();
removeTestTemp();
if (found.length) {
  process.stdout.write(`# leftovers: the suite left ${found.length} thing(s) behind (now removed):\n${found.map((f) => `#   ${f}\n`).join('')}`);
  process.exitCode = 1;
} else {
  process.stdout.write('# leftovers: none (no process, container, namespace, link, nftables table or temporary folder left)\n');
}
