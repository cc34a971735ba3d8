import { readFileSync } from 'node:fs';
import { fixture } from './paths.js';

const path = (name: string): string => fixture('h323', name);

/** A `.hex` fixture: `#` comment lines, then hex (whitespace ignored). */
export function hexFixture(name: string): Buffer {
  const text = readFileSync(path(name), 'utf8');
  return Buffer.from(
    text
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('')
      .replace(/\s+/g, ''),
    'hex',
  );
}

/** A vector list: `#` comment lines, then `name hex` per line. */
export function vectors(name: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const line of readFileSync(path(name), 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [k, h] = line.trim().split(/\s+/);
    out.set(k!, Buffer.from(h!, 'hex'));
  }
  return out;
}
