import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { defaultConfigPath, loadConfigFile, parseConfig } from '../../../shared/config/load.js';
import { acceptedConfig } from '../../../layer2/worker-control.js';
import { VcpError } from '../../../shared/errors.js';

const file = defaultConfigPath();
const text = readFileSync(file, 'utf8');

t.test('a worker takes the resolved config its supervisor sends as it is', async (t) => {
  const config = loadConfigFile(file);
  t.equal(await acceptedConfig({ config, file, text: 'not even YAML: [' }), config, 'the resolved config, not the text');
});

t.test('from a supervisor of an earlier release (text only), a worker checks the text itself', async (t) => {
  const c = await acceptedConfig({ file, text });
  t.same(c, parseConfig(text, file));
  const tokens = { ...c.tokens, key: 'k'.repeat(40) };
  t.equal((await acceptedConfig({ file, text, tokens })).tokens.key, tokens.key, 'with the token keys the supervisor read');
  await t.rejects(acceptedConfig({ file: 'x.yaml', text: text.replace('sip: 5060 ', 'sip: 99999 ') }), /x\.yaml: wellKnown\.sip/, 'a bad text is refused with the file and the key');
});

t.test('a message without a config is refused', async (t) => {
  await t.rejects(acceptedConfig({}), VcpError);
  await t.rejects(acceptedConfig({ config: null as never, file }), { code: 'VCP_ERR_WORKER' });
});

t.test('the IPC channel of a worker carries the resolved config exactly (keys set to undefined, nested sections)', async (t) => {
  const config = loadConfigFile(file);
  t.ok(Object.values(config).includes(undefined), 'the resolved default config has keys set to undefined (their presence matters to applyInPlace)');
  // The child listens only after a while (a worker loads its modules first): the channel keeps what
  // was sent before, as the supervisor sends the config right at the fork.
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => process.once("message", (m) => process.send(m)), 300)'], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  t.teardown(() => void child.kill());
  child.send({ type: 'config', config, file, text });
  const back = await new Promise<unknown>((resolve) => child.once('message', resolve));
  const got = await acceptedConfig(back as { config: never; file: string; text: string });
  t.same(Object.keys(got).sort(), Object.keys(config).sort(), 'the same keys, undefined ones included');
  t.same(got, config);
});
