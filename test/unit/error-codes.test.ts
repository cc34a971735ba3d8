import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/procs.js';

/** Every `VCP_ERR_...` code in the sources is in the error table of docs/errors.md, and the table lists no other. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

t.test('the error table (docs/errors.md) and the code agree', async (t) => {
  const inCode = new Map<string, string>();
  for (const dir of ['layer1', 'layer2', 'shared', 'scripts']) {
    for (const file of sources(join(ROOT, dir))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/VCP_ERR_[A-Z0-9_]+/g)) inCode.set(m[0], file.slice(ROOT.length + 1));
    }
  }
  const section = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  const inTable = new Set([...section.matchAll(/^\| `(VCP_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
  t.ok(inCode.size > 10, `codes found in the sources (${inCode.size})`);
  for (const [code, file] of inCode) t.ok(inTable.has(code), `${code} (${file}) is in the error table of docs/errors.md`);
  for (const code of inTable) t.ok(inCode.has(code), `${code} of docs/errors.md is raised somewhere`);
});
