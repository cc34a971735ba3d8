import t from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unreachableBy } from '../../../shared/privileges.js';

// A worker its supervisor starts after the privilege drop loads its code as runAs: the supervisor
// names the first folder on the way that runAs cannot search (or the file it cannot read).
const other = { uid: 64999, gid: 64999 };

t.test('the first folder the user cannot search, then the file it cannot read, then nothing', async (t) => {
  // Under the system's temporary folder: every folder above it is searchable by anyone.
  const top = mkdtempSync(join(tmpdir(), 'vcp-reach-'));
  t.teardown(() => rmSync(top, { recursive: true, force: true }));
  chmodSync(top, 0o755);
  const dir = join(top, 'private', 'dist');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'worker.js');
  writeFileSync(file, '');
  chmodSync(join(top, 'private'), 0o700);
  chmodSync(dir, 0o755);
  chmodSync(file, 0o640);
  t.equal(unreachableBy(file, other), join(top, 'private'), 'a private folder on the way is named');
  chmodSync(join(top, 'private'), 0o701);
  t.equal(unreachableBy(file, other), file, 'searchable now; the file itself is not readable');
  chmodSync(file, 0o644);
  t.equal(unreachableBy(file, other), undefined, 'reachable');
  t.equal(unreachableBy(join(dir, 'missing.js'), other), join(dir, 'missing.js'), 'a missing file counts as unreachable');
  t.equal(unreachableBy(file, { uid: process.getuid?.() ?? 0, gid: 0 }), undefined, 'the owner reaches it through its own bits');
});
