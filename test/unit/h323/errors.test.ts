import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../helpers/procs.js';

/** Every error code the H.323 codecs and tools can raise is listed in the README's error table. */

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

t.test('H.323 and capture error codes are in the README', async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const files = [...sources(join(ROOT, 'layer2/h323')), ...sources(join(ROOT, 'scripts/pcap')), join(ROOT, 'scripts/h323-decode.ts')];
  const codes = new Set<string>();
  for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(/VCP_ERR_(?:H323|PCAP)_[A-Z0-9_]+/g)) codes.add(m[0]);
  t.ok(codes.size >= 10, `${codes.size} codes found`);
  for (const c of codes) t.match(readme, new RegExp(`\\| \`${c}\` \\|`), `${c} has a row`);
});
