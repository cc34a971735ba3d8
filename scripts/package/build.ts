import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { parseDocument } from 'yaml';
import { parseConfig } from '../../shared/config/load.js';

const USAGE = `usage: npm run package [-- --version V] [--out DIR] [--compression xz|gzip]
Builds vcproxy_<version>_amd64.deb with dpkg-deb from the compiled tree (npm run package builds it
first): the code and its production dependencies under /opt/vcproxy, the embedded default config as
the conffile /etc/vcproxy/vcproxy.yaml, the systemd units, the system user (sysusers.d), the
maintainer scripts. --version defaults to package.json's; --out to the checkout's top level.`;

/** The checkout: this file runs as dist/scripts/package/build.js. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SRC = join(ROOT, 'scripts/package');
const OPT = 'opt/vcproxy';
/** Where the package keeps state: the shipped config's relative paths point here instead. */
const STATE = '/var/lib/vcproxy';

const sh = (cmd: string, args: string[], cwd?: string): string => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}

function md5(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('md5');
    createReadStream(file).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

/** The compiled code, without tests, source maps and this builder. */
function copyCode(root: string): void {
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'layer2/main.js'))) throw new Error('dist/ is missing: npm run package builds it (npm run build)');
  for (const part of ['layer1', 'layer2', 'shared', 'scripts']) {
    cpSync(join(dist, part), join(root, OPT, 'dist', part), {
      recursive: true,
      // Not the package builder nor the dashboard generator (build tools with development dependencies).
      filter: (src) => !src.endsWith('.map') && !src.startsWith(join(dist, 'scripts/package')) && !src.startsWith(join(dist, 'scripts/monitoring')),
    });
  }
  cpSync(join(ROOT, 'config'), join(root, OPT, 'config'), { recursive: true });
  // The shell entry points of the failover tools and the sipp scenarios the docs use.
  for (const f of ['scripts/ip-takeover', 'scripts/nats', 'scripts/failover/keepalived-conf', 'scripts/failover/bird-conf', 'scripts/failover/check-layer1', 'scripts/failover/keepalived-notify']) {
    cpSync(join(ROOT, f), join(root, OPT, f));
  }
  cpSync(join(ROOT, 'scripts/sipp'), join(root, OPT, 'scripts/sipp'), { recursive: true });
}

/**
 * package.json (ESM needs its "type") and the production dependencies: the packages of the lock file
 * that are not for development, copied from the checkout's node_modules (npm ci made them).
 */
function copyDependencies(root: string, version: string): Array<{ name: string; version: string; license: string }> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean; optional?: boolean }> };
  for (const [path, p] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || p.dev || p.devOptional) continue;
    const from = join(ROOT, path);
    if (!existsSync(from)) {
      // An optional dependency for another platform (a prebuilt add-on) is not installed: fine.
      if (p.optional) continue;
      throw new Error(`${path} is in package-lock.json but not installed: run npm ci`);
    }
    // Nested node_modules are lock entries of their own.
    cpSync(from, join(root, OPT, path), { recursive: true, verbatimSymlinks: true, filter: (src) => src === from || !relative(from, src).split('/').includes('node_modules') });
  }
  const nm = join(root, OPT, 'node_modules');
  tidyDependencies(nm);
  const shipped = { name: pkg.name, version, description: pkg.description, type: pkg.type, private: true, license: pkg.license, dependencies: pkg.dependencies };
  writeFileSync(join(root, OPT, 'package.json'), `${JSON.stringify(shipped, null, 2)}\n`);
  const out: Array<{ name: string; version: string; license: string }> = [];
  const visit = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (e.name.startsWith('@')) {
        visit(p);
        continue;
      }
      const meta = join(p, 'package.json');
      if (existsSync(meta)) {
        const m = JSON.parse(readFileSync(meta, 'utf8')) as { name?: string; version?: string; license?: string | { type?: string } };
        const license = typeof m.license === 'string' ? m.license : (m.license?.type ?? 'see the package');
        if (m.name) out.push({ name: m.name, version: m.version ?? '', license });
      }
      if (existsSync(join(p, 'node_modules'))) visit(join(p, 'node_modules'));
    }
  };
  visit(nm);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function hasShebang(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x23 && b[1] === 0x21;
  } finally {
    closeSync(fd);
  }
}

/** What npm packages carry for their own development: tests, benchmarks, examples, CI and editor files. */
const DEV_DIRS = new Set(['test', 'tests', '__tests__', 'benchmarks', 'bench', 'examples', 'example', '.github', '.husky', 'integration', 'tools']);
const DEV_FILES = /^(\.eslintrc.*|\.npmignore|\.gitattributes|\.gitignore|\.travis\.yml|\.borp\.yaml|\.taprc|\.editorconfig|\.prettierrc.*|test\.js|.*\.sln)$/;

/**
 * Production dependencies as the appliance runs them: without their development files, the C
 * sources of add-ons that come prebuilt, add-ons for other platforms (this package is amd64 with
 * glibc), pino's documentation page; files 0644 (Node runs them; none is a program of its own) and
 * the prebuilt add-ons stripped.
 */
function tidyDependencies(nm: string): void {
  const prune = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (DEV_DIRS.has(e.name) && !dir.endsWith('node_modules')) rmSync(p, { recursive: true });
        else prune(p);
      } else if (DEV_FILES.test(e.name)) rmSync(p);
    }
  };
  prune(nm);
  rmSync(join(nm, 'lmdb/dependencies'), { recursive: true, force: true });
  rmSync(join(nm, 'lmdb/src'), { recursive: true, force: true });
  rmSync(join(nm, 'pino/index.html'), { force: true });
  for (const f of walk(nm)) {
    if (f.endsWith('.node') && (f.includes('.musl.') || !/linux-x64/.test(f))) {
      rmSync(f);
      continue;
    }
    // A dependency's own command-line tools (a #! line) stay runnable; everything else is data to Node.
    chmodSync(f, hasShebang(f) ? 0o755 : 0o644);
    if (f.endsWith('.node')) sh('strip', ['--strip-unneeded', '--remove-section=.comment', '--remove-section=.note', f]);
  }
}

/** The embedded default config, with its state where the package keeps state. */
function shippedConfig(root: string): void {
  const doc = parseDocument(readFileSync(join(ROOT, 'config/default.yaml'), 'utf8'));
  doc.setIn(['profiles', 'path'], `${STATE}/profiles`);
  doc.setIn(['admin', 'tokenFile'], `${STATE}/admin.token`);
  doc.commentBefore = ` vcproxy configuration (the package's conffile: your changes are kept on upgrades).
 Apply changes with: systemctl reload vcproxy.target  (or the unit of one role)
 Reference: /usr/share/doc/vcproxy/ and the README of the project.
${doc.commentBefore ?? ''}`;
  const text = doc.toString({ lineWidth: 0 });
  const file = join(root, 'etc/vcproxy/vcproxy.yaml');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  // Refuse to ship a config that the appliance would refuse.
  parseConfig(text, '/etc/vcproxy/vcproxy.yaml');
}

function copyright(deps: Array<{ name: string; version: string; license: string }>): string {
  const year = new Date(statSync(join(ROOT, 'package.json')).mtimeMs).getUTCFullYear();
  const licenses = [...new Set(deps.map((d) => d.license))].sort();
  const files = deps.map((d) => `Files: ${OPT}/node_modules/${d.name}/*\nCopyright: the authors of ${d.name} ${d.version}\nLicense: ${d.license}\n`).join('\n');
  const paragraphs = licenses.map((l) => `License: ${l}\n The text of this license is in the LICENSE file of each package that\n uses it, under /${OPT}/node_modules/.\n`).join('\n');
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: vcproxy

Files: *
Copyright: ${year} the vcproxy authors
License: proprietary

${files}
License: proprietary
 All rights reserved. This software may be used only under the terms agreed
 with its authors.

${paragraphs}`;
}

function changelog(version: string): Buffer {
  const date = execFileSync('date', ['-R', '-u', '-d', `@${Math.floor(statSync(join(ROOT, 'package.json')).mtimeMs / 1000)}`], { encoding: 'utf8' }).trim();
  const text = `vcproxy (${version}) unstable; urgency=medium\n\n  * Release ${version}.\n\n -- vcproxy maintainers <maintainers@vcproxy.invalid>  ${date}\n`;
  return gzipSync(Buffer.from(text), { level: 9 });
}

async function build(version: string, out: string, compression: string): Promise<string> {
  const stage = mkdtempSync(join(tmpdir(), 'vcp-package-'));
  try {
    const root = join(stage, 'root');
    copyCode(root);
    const deps = copyDependencies(root, version);
    shippedConfig(root);
    const units = join(root, 'lib/systemd/system');
    mkdirSync(units, { recursive: true });
    for (const u of readdirSync(join(SRC, 'systemd'))) cpSync(join(SRC, 'systemd', u), join(units, u));
    mkdirSync(join(root, 'usr/lib/sysusers.d'), { recursive: true });
    cpSync(join(SRC, 'debian/sysusers.conf'), join(root, 'usr/lib/sysusers.d/vcproxy.conf'));
    const doc = join(root, 'usr/share/doc/vcproxy');
    mkdirSync(doc, { recursive: true });
    writeFileSync(join(doc, 'copyright'), copyright(deps));
    writeFileSync(join(doc, 'changelog.gz'), changelog(version));
    for (const d of ['install.md', 'operations.md', 'configuration.md', 'errors.md']) if (existsSync(join(ROOT, 'docs', d))) cpSync(join(ROOT, 'docs', d), join(doc, d));
    mkdirSync(join(root, 'usr/share/lintian/overrides'), { recursive: true });
    cpSync(join(SRC, 'debian/lintian-overrides'), join(root, 'usr/share/lintian/overrides/vcproxy'));

    // Owned by root (dpkg-deb --root-owner-group), readable by all; executables where they run.
    sh('chmod', ['-R', 'u=rwX,go=rX', root]);
    for (const f of walk(join(root, OPT, 'dist'))) chmodSync(f, 0o644);
    const executables = walk(join(root, OPT, 'scripts')).filter((f) => !f.includes('.') || f.endsWith('.sh'));
    for (const f of executables) chmodSync(f, 0o755);

    const debian = join(root, 'DEBIAN');
    mkdirSync(debian);
    const installedKb = Number(sh('du', ['-sk', '--exclude=DEBIAN', root]).split('\t')[0]);
    const control = readFileSync(join(SRC, 'debian/control'), 'utf8').replace('@VERSION@', version).replace('@INSTALLED_SIZE@', String(installedKb));
    writeFileSync(join(debian, 'control'), control);
    writeFileSync(join(debian, 'conffiles'), '/etc/vcproxy/vcproxy.yaml\n');
    for (const s of ['postinst', 'prerm', 'postrm']) {
      cpSync(join(SRC, 'debian', s), join(debian, s));
      chmodSync(join(debian, s), 0o755);
    }
    const sums: string[] = [];
    for (const f of walk(root).filter((f) => !f.startsWith(debian) && !f.startsWith(join(root, 'etc/')))) {
      sums.push(`${await md5(f)}  ${relative(root, f)}`);
    }
    writeFileSync(join(debian, 'md5sums'), `${sums.sort((a, b) => a.slice(34).localeCompare(b.slice(34))).join('\n')}\n`);

    mkdirSync(out, { recursive: true });
    const deb = join(out, `vcproxy_${version}_amd64.deb`);
    sh('dpkg-deb', ['--root-owner-group', `-Z${compression}`, '--build', root, deb]);
    return deb;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { version: { type: 'string' }, out: { type: 'string' }, compression: { type: 'string', default: 'xz' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const version = values.version ?? (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  if (!/^[0-9][A-Za-z0-9.+~]*$/.test(version)) throw new Error(`--version ${version}: not a Debian version without revision (digits first; letters, digits, . + ~)`);
  if (!['xz', 'gzip', 'zstd', 'none'].includes(values.compression!)) throw new Error(`--compression ${values.compression}: one of xz, gzip, zstd, none`);
  const deb = await build(version, values.out ?? ROOT, values.compression!);
  process.stdout.write(`${deb}\n`);
  process.stderr.write(`package: ${basename(deb)}, ${(statSync(deb).size / 1048576).toFixed(1)} MiB\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`package: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
