import t, { type Test } from 'tap';
import { parseConfig, loadConfigFile, defaultConfigPath } from '../../shared/config/load.js';
import { ConfigError } from '../../shared/errors.js';
import { CONFIG_DOC, CONFIG_TABLES, markedTables, renderConfigDoc, schemaKeys, tableCoverage } from '../../shared/config/docs.js';
import { readFileSync } from 'node:fs';
import { fromRoot } from '../helpers/paths.js';

const base = readFileSync(defaultConfigPath(), 'utf8');

t.test('the embedded default loads', async (t) => {
  const c = loadConfigFile(defaultConfigPath());
  t.equal(c.wellKnown.sip, 5060);
  t.equal(c.servers[0]!.builtin, true);
  t.ok(c.connectors[0]!.endpoints.length >= 1);
  t.equal(c.connectors[0]!.endpoints[0]!.sip, 25060);
});

const bad = (t: Test, text: string, re: RegExp) => {
  try {
    parseConfig(text, 'x.yaml');
    t.fail(`accepted a config that should fail with ${re}`);
  } catch (e) {
    t.type(e, ConfigError);
    t.match((e as Error).message, re);
  }
};

t.test('errors name the file, the path and what was expected', async (t) => {
  bad(t, base.replace('sip: 5060 ', 'sip: 99999 '), /^x\.yaml: wellKnown\.sip \(line \d+\): expected a port number/);
  bad(t, base.replace('pop: local\n', 'pop: local\nbogus: 1\n'), /x\.yaml: bogus \(line 5\): unknown key/);
  bad(t, base.replace('workers: auto', 'workers: many'), /connectors\[0\]\.workers .*expected a number of worker processes/);
  bad(t, base.replace('address: 127.0.0.1\n    sipPort', 'address: nope\n    sipPort'), /servers\[0\]\.address .*IPv4 or IPv6/);
  bad(t, base.replace('    pop: local\n    address: 127.0.0.1\n    sipPort', '    pop: elsewhere\n    address: 127.0.0.1\n    sipPort'), /servers\[0\]\.pop .*name of a POP/);
  bad(t, 'pop: [', /YAML syntax/);
  bad(t, base.replace('health: 18080', 'health: 25060'), /already used by connector/);
});

t.test('defaults come from the schema: a minimal file resolves to every default', async (t) => {
  const c = parseConfig(
    'pop: a\nwellKnown: { address: 127.0.0.1 }\npops: [ { name: a } ]\nconnectors: [ { name: c, pop: a, address: 127.0.0.2, workers: 1, ports: { sip: 25060, health: 18080 } } ]\nservers: [ { name: s, pop: a, address: 127.0.0.3, sipPort: 0 } ]\n',
    'min.yaml',
  );
  t.same(c.wellKnown, { address: '127.0.0.1', sip: 5060, h323: 1720, ras: 1719 });
  t.equal(c.sip.t1Ms, 500);
  t.equal(c.h323.ras.gatekeeperId, 'vcproxy-a', 'derived from the POP');
  t.equal(c.layer1.bind, '127.0.0.1', 'derived from the well-known address');
  t.equal(c.servers[0]!.probe, 'tcp', 'no SIP port: probed by TCP');
  t.same(c.servers[0]!.workTypes, { reflector: 1 });
  t.equal(c.learning.redirectDeadlineMs, 8000);
  t.equal(c.web.enabled, false);
  t.equal(c.web.port, 8080, 'a section that is absent still reads as its defaults');
  t.equal(c.dns.enabled, false);
  t.equal(c.replication, undefined);
});

t.test('the configuration reference\'s tables are generated from the schema (npm run config-docs)', async (t) => {
  const doc = readFileSync(fromRoot(CONFIG_DOC), 'utf8');
  const keys = schemaKeys();
  t.ok(keys.length > 150, `${keys.length} keys documented`);
  for (const k of keys) t.ok(k.meaning.length > 0, `${k.path} has a description`);
  const cover = tableCoverage(keys);
  t.same(cover.missing, [], 'every key is in a table');
  t.same(cover.twice, [], 'no key is in two tables');
  t.same(markedTables(doc).sort(), Object.keys(CONFIG_TABLES).sort(), `${CONFIG_DOC} marks every table once`);
  const expected = renderConfigDoc(doc);
  if (expected !== doc) {
    const a = doc.split('\n');
    const b = expected.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    t.fail(`${CONFIG_DOC} line ${line + 1} differs from the schema:\n  document: ${a[line]}\n  schema:   ${b[line]}\n(run npm run build && npm run config-docs)`);
  } else t.pass(`${CONFIG_DOC} tables match the schema`);
});

t.test('a key added to the schema without a table fails the coverage check', async (t) => {
  const keys = [...schemaKeys(), { path: 'brandNew.key', default: '1', meaning: 'x' }];
  t.same(tableCoverage(keys).missing, ['brandNew.key']);
});
