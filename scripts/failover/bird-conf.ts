import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { popFailover } from '../../shared/config/identity.js';
import { loadConfigFile } from '../../shared/config/load.js';
import { VcpError } from '../../shared/errors.js';
import { renderBirdSpeaker } from './bird-speaker.js';

/** bird-conf --config FILE --pop POP [--log FILE] [--out FILE]: bird.conf for a POP edge. */
function main(): number {
  let v;
  try {
    v = parseArgs({ options: { config: { type: 'string' }, pop: { type: 'string' }, log: { type: 'string' }, out: { type: 'string' } } }).values;
  } catch (err) {
    process.stderr.write(`bird-conf: ${(err as Error).message}\n`);
    return 2;
  }
  if (!v.config || !v.pop) {
    process.stderr.write('bird-conf: --config FILE and --pop POP are required\n');
    return 2;
  }
  try {
    const config = loadConfigFile(v.config, { pop: v.pop });
    const text = renderBirdSpeaker(config, popFailover(config, v.pop), { log: v.log });
    if (v.out) writeFileSync(v.out, text, { mode: 0o644 });
    else process.stdout.write(text);
    return 0;
  } catch (err) {
    process.stderr.write(`bird-conf: ${err instanceof VcpError ? `${err.code}: ` : ''}${(err as Error).message}\n`);
    return err instanceof VcpError ? 3 : 1;
  }
}

process.exitCode = main();
