import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONFIG_TABLES, markedTables, renderReadme, tableCoverage } from '../shared/config/docs.js';

/**
 * Regenerates the README's configuration tables from the schema (shared/config/schema.ts).
 * `--check`: writes nothing, exits 1 when the README differs from what the schema gives.
 */
const self = fileURLToPath(import.meta.url);
const root = self.includes('/dist/') ? self.slice(0, self.lastIndexOf('/dist/')) : self.slice(0, self.lastIndexOf('/scripts/'));
const file = `${root}/README.md`;
const before = readFileSync(file, 'utf8');
const after = renderReadme(before);
const cover = tableCoverage();
const unmarked = Object.keys(CONFIG_TABLES).filter((t) => !markedTables(before).includes(t));
if (cover.missing.length || cover.twice.length || unmarked.length) {
  process.stderr.write(`config-docs: keys in no table: ${cover.missing.join(', ') || '-'}; in two: ${cover.twice.join(', ') || '-'}; tables without a README marker: ${unmarked.join(', ') || '-'}\n`);
  process.exit(1);
}
if (process.argv.includes('--check')) {
  if (before !== after) {
    process.stderr.write('config-docs: README.md is not what the schema gives; run npm run config-docs\n');
    process.exit(1);
  }
} else if (before !== after) {
  writeFileSync(file, after);
  process.stdout.write('README.md: configuration tables regenerated\n');
}
