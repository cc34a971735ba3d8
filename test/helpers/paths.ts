import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project root, found from this module whether it runs as TypeScript from `test/helpers/` or
 * compiled from `dist/test/helpers/` (the suite runs the compiled tests): the nearest folder above
 * with a package.json.
 */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('no package.json above the test helpers');
    dir = up;
  }
  return dir;
}

export const ROOT = findRoot();
/** A path in the project (`fromRoot('scripts/sipp/room-follow.xml')`). */
export const fromRoot = (...parts: string[]): string => join(ROOT, ...parts);
/** A file of `test/fixtures/`. */
export const fixture = (...parts: string[]): string => join(ROOT, 'test', 'fixtures', ...parts);
/** Compiled output: the processes the tests start run from `dist/`. */
export const dist = (p: string): string => join(ROOT, 'dist', p);
