import t from 'tap';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { dist, start, tempDir, waitFor } from '../helpers/procs.js';
import { adminToken } from '../../layer2/admin/token.js';
import { withKeys } from '../../layer2/route/keys.js';
import { secretFile } from '../../layer2/secret-file.js';

// The admin token and the token key are made by whichever process of a host (or connector of a
// config sharing its folder) starts first. Several start at once: none may read a file another is
// still writing, and all must end with the same secret.

const PROCS = 6;
const FILES = 150;

t.test('processes racing to create the same secrets all read the one secret that won', async (t) => {
  const dir = tempDir('secrets');
  const go = join(dir, 'go');
  const script = `
    import { existsSync, writeSync } from 'node:fs';
    const { adminToken } = await import(${JSON.stringify(pathToFileURL(dist('layer2/admin/token.js')).href)});
    const { withKeys } = await import(${JSON.stringify(pathToFileURL(dist('layer2/route/keys.js')).href)});
    const dir = process.argv[1];
    writeSync(1, 'ready\\n');
    while (!existsSync(dir + '/go'));
    const out = [];
    for (let i = 0; i < ${FILES}; i++) {
      for (const f of [() => adminToken({ token: undefined, tokenFile: dir + '/admin-' + i }, true), () => withKeys({ keyFile: dir + '/key-' + i }).tokens.key]) {
        try { out.push(f()); } catch (err) { out.push('ERROR ' + err.message); }
      }
    }
    process.stdout.write(JSON.stringify(out) + '\\n');`;
  const procs = Array.from({ length: PROCS }, () => start(process.execPath, ['--input-type=module', '-e', script, dir]));
  t.teardown(() => Promise.all(procs.map((p) => p.stop())));
  await waitFor('every process loaded', () => procs.every((p) => p.output().startsWith('ready\n')));
  writeFileSync(go, '');
  await waitFor('every process done', () => procs.every((p) => p.child.exitCode !== null));
  const results = procs.map((p) => JSON.parse(p.output().slice('ready\n'.length)) as string[]);
  const errors = results.flat().filter((s) => s.startsWith('ERROR'));
  t.same(errors, [], 'no process read a half-written secret');
  for (const r of results.slice(1)) t.same(r, results[0], 'every process got the same secrets');
  t.ok(results[0]!.every((s, i) => s.length >= (i % 2 === 0 ? 16 : 32)));
  const left = readdirSync(dir).filter((f) => f !== 'go');
  t.equal(left.length, 2 * FILES, 'one file per secret, no temporary file left');
  t.equal(statSync(join(dir, 'admin-0')).mode & 0o777, 0o600, 'readable by its owner only');
});

t.test('a secret file made once is read again as it is; a short or missing one is refused with its path', async (t) => {
  const dir = tempDir('secret');
  const a = secretFile(join(dir, 'sub/s'), () => 'first');
  t.same(a, { text: 'first', created: true }, 'the folder is made too');
  t.same(secretFile(join(dir, 'sub/s'), () => 'second'), { text: 'first', created: false });
  writeFileSync(join(dir, 'short'), 'abc\n');
  t.throws(() => adminToken({ token: undefined, tokenFile: join(dir, 'short') }, true), { code: 'VCP_ERR_ADMIN_TOKEN', message: /short.*shorter than 16/ });
  t.throws(() => withKeys({ keyFile: join(dir, 'short') }), { code: 'VCP_ERR_TOKEN_KEY', message: /short.*shorter than 32/ });
  t.throws(() => adminToken({ token: undefined, tokenFile: join(dir, 'none') }, false), { code: 'VCP_ERR_ADMIN_TOKEN', message: /none does not exist/ });
  t.equal(adminToken({ token: 'from-the-config-0123', tokenFile: join(dir, 'none') }, false), 'from-the-config-0123', 'a token in the config needs no file');
});
