import t from 'tap';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ROOT } from '../helpers/procs.js';

// The documents: every relative link in README.md and docs/*.md leads to a file that exists, and an
// anchor to a heading of that file; the README stays an entry page that opens with the two commands.

/** Lines outside fenced code blocks, with inline code removed. */
function prose(text: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) out.push(line.replace(/`[^`]*`/g, ''));
  }
  return out;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Relative links `[text](target)` of a document's prose (not inside code). */
export function localLinks(text: string): string[] {
  const links: string[] = [];
  for (const line of prose(text)) {
    for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push(target);
    }
  }
  return links;
}

const docs = [join(ROOT, 'README.md'), ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f))];

t.test('the anchor rule gives GitHub\'s anchors', async (t) => {
  t.same([...anchors('# A b\n## Measured: `scripts/drill --rounds 10`\n```\n# not a heading\n```\n## A b\n## The codecs (`layer2/h323/`)\n')], [
    'a-b', 'measured-scriptsdrill---rounds-10', 'a-b-1', 'the-codecs-layer2h323',
  ]);
  t.same(localLinks('see [x](a.md#b), [y](https://e.org), `[z](c.md)`\n```\n[w](d.md)\n```\n'), ['a.md#b']);
});

t.test('every relative link of the documents leads to a file and heading that exist', async (t) => {
  t.ok(docs.length >= 8, `${docs.length} documents`);
  let checked = 0;
  for (const doc of docs) {
    const name = relative(ROOT, doc);
    const text = readFileSync(doc, 'utf8');
    for (const link of localLinks(text)) {
      const [path, anchor] = link.split('#', 2) as [string, string | undefined];
      const target = path === '' ? doc : join(dirname(doc), decodeURIComponent(path));
      checked++;
      if (!existsSync(target)) {
        t.fail(`${name}: ${link}: no file ${relative(ROOT, target)}`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!statSync(target).isFile() || !target.endsWith('.md')) {
        t.fail(`${name}: ${link}: an anchor into something that is not a markdown file`);
        continue;
      }
      if (!anchors(readFileSync(target, 'utf8')).has(anchor)) t.fail(`${name}: ${link}: ${relative(ROOT, target)} has no heading #${anchor}`);
    }
  }
  t.ok(checked > 50, `${checked} links checked`);
});

t.test('the README is an entry page that opens with the two commands', async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const lines = readme.trimEnd().split('\n');
  t.ok(lines.length <= 200, `README.md has ${lines.length} lines (at most 200)`);
  const first = /^```\n([\s\S]*?)\n```$/m.exec(readme);
  t.equal(first?.[1], './scripts/install && npm start\n./scripts/install --test && npm test', 'its first code block is the install-and-start and the install-and-test commands');
  t.ok(readme.indexOf('```') < readme.indexOf('\n## '), 'before any section');
  for (const doc of ['install', 'configuration', 'operations', 'failover', 'h323', 'errors', 'benchmarks', 'architecture', 'testing']) {
    t.ok(readme.includes(`(docs/${doc}.md)`), `the README leads to docs/${doc}.md`);
  }
});
