import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONFIG_DOC, CONFIG_TABLES, markedTables, renderConfigDoc, tableCoverage } from '../shared/config/docs.js';

/**
 * Regenerates the configuration tables of docs/configuration.md from the schema
 * (shared/config/schema.ts). `--check`: writes nothing, exits 1 when the document differs from what
 * the schema gives.
 */
const self = fileURLToPath(import.meta.url);
const root = self.includes('/dist/') ? self.slice(0, self.lastIndexOf('/dist/')) : self.slice(0, self.lastIndexOf('/scripts/'));
const file = `${root}/${CONFIG_DOC}`;
const before = readFileSync(file, 'utf8');
const after = renderConfigDoc(before);
const cover = tableCoverage();
const unmarked = Object.keys(CONFIG_TABLES).filter((t) => !markedTables(before).includes(t));
if (cover.missing.length || cover.twice.length || unmarked.length) {
  process.stderr.write(`config-docs: keys in no table: ${cover.missing.join(', ') || '-'}; in two: ${cover.twice.join(', ') || '-'}; tables without a marker in ${CONFIG_DOC}: ${unmarked.join(', ') || '-'}\n`);
  process.exit(1);
}
if (process.argv.includes('--check')) {
  if (before !== after) {
    process.stderr.write(`config-docs: ${CONFIG_DOC} is not what the schema gives; run npm run config-docs\n`);
    process.exit(1);
  }
} else if (before !== after) {
  writeFileSync(file, after);
  process.stdout.write(`${CONFIG_DOC}: configuration tables regenerated\n`);
}
