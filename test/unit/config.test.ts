import t, { type Test } from 'tap';
import { parseConfig, loadConfigFile, defaultConfigPath } from '../../shared/config/load.js';
import { ConfigError } from '../../shared/errors.js';
import { readFileSync } from 'node:fs';

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
