import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { encodeH323 } from '../../../layer2/h323/message.js';
import { encodeRas } from '../../../layer2/h323/ras.js';
import { callVectors, intelEndpointType, intelSetupV1, rasVectors } from '../../helpers/h323-vectors.js';
import { hexFixture, vectors } from '../../helpers/h323-fixtures.js';
import { fixture } from '../../helpers/paths.js';

/** The fixtures are what the builders produce for fixed inputs: any change to the encoder shows here. */

const path = (n: string): string => fixture('h323', n);

function lines(m: Map<string, Buffer>): string {
  return [...m].map(([k, b]) => `${k} ${b.toString('hex')}`).join('\n') + '\n';
}

const built = {
  calls: new Map([...callVectors()].map(([k, m]) => [k, encodeH323(m)])),
  ras: new Map([...rasVectors()].map(([k, m]) => [k, encodeRas(m)])),
};

if (process.env.VCP_REGENERATE_FIXTURES === '1') {
  const header = (f: string): string => readFileSync(path(f), 'utf8').split('\n').filter((l) => l.startsWith('#')).join('\n') + '\n';
  writeFileSync(path('calls.txt'), header('calls.txt') + lines(built.calls));
  writeFileSync(path('ras.txt'), header('ras.txt') + lines(built.ras));
  writeFileSync(path('intel-endpoint-type.hex'), header('intel-endpoint-type.hex') + intelEndpointType().toString('hex') + '\n');
  writeFileSync(path('intel-setup-v1.hex'), header('intel-setup-v1.hex') + intelSetupV1().toString('hex') + '\n');
}

t.test('call signalling builders produce the fixture bytes', async (t) => {
  const fixed = vectors('calls.txt');
  t.same([...built.calls.keys()], [...fixed.keys()]);
  for (const [k, b] of built.calls) t.equal(b.toString('hex'), fixed.get(k)?.toString('hex'), k);
});

t.test('RAS builders produce the fixture bytes', async (t) => {
  const fixed = vectors('ras.txt');
  t.same([...built.ras.keys()], [...fixed.keys()]);
  for (const [k, b] of built.ras) t.equal(b.toString('hex'), fixed.get(k)?.toString('hex'), k);
});

t.test('the hand-assembled Intel vectors', async (t) => {
  t.same(intelEndpointType(), hexFixture('intel-endpoint-type.hex'));
  t.same(intelSetupV1(), hexFixture('intel-setup-v1.hex'));
});
