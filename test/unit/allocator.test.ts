import t from 'tap';
import { readFileSync } from 'node:fs';
import { fromRoot } from '../helpers/paths.js';
import { allocatorTuning, TRIM_THRESHOLD_BYTES, withAllocatorTuning } from '../../shared/allocator.js';

const SETTING = `glibc.malloc.trim_threshold=${TRIM_THRESHOLD_BYTES}`;

t.test('the trim threshold is added to GLIBC_TUNABLES', async (t) => {
  const env = { PATH: '/usr/bin' };
  const out = withAllocatorTuning(env);
  t.equal(out.GLIBC_TUNABLES, SETTING);
  t.equal(out.PATH, '/usr/bin', 'the rest of the environment stays');
  t.same(env, { PATH: '/usr/bin' }, 'the environment given is not changed');
  t.equal(withAllocatorTuning({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES, `glibc.malloc.arena_max=2:${SETTING}`, 'after tunables already set');
});

t.test('a trim threshold the operator set stays', async (t) => {
  const env = { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=1048576' };
  t.equal(withAllocatorTuning(env).GLIBC_TUNABLES, env.GLIBC_TUNABLES);
  t.equal(allocatorTuning(env), 'trim_threshold 1048576');
});

t.test('a process says which threshold it runs with', async (t) => {
  t.equal(allocatorTuning(withAllocatorTuning({})), `trim_threshold ${TRIM_THRESHOLD_BYTES}`);
  t.match(allocatorTuning({}), /^glibc default/);
  t.match(allocatorTuning({ GLIBC_TUNABLES: 'glibc.malloc.trim_thresholdx=5' }), /^glibc default/, 'another tunable of a similar name is not it');
});

t.test("layer 1's units start it with the same setting", async (t) => {
  for (const unit of ['vcproxy-layer1.service', 'vcproxy-layer1@.service']) {
    const text = readFileSync(fromRoot('scripts/package/systemd', unit), 'utf8');
    t.match(text, new RegExp(`^Environment=GLIBC_TUNABLES=${SETTING.replaceAll('.', '\\.')}$`, 'm'), unit);
  }
});
