import type { Test } from 'tap';

/** Assert that `fn` throws an error whose fields match `fields` (tap's `throws` types do not allow extra fields). */
export function throwsWith(t: Test, fn: () => unknown, fields: Record<string, unknown>, msg = 'throws the expected error'): void {
  try {
    fn();
  } catch (err) {
    t.match(err, fields, msg);
    return;
  }
  t.fail(`${msg}: nothing was thrown`);
}
