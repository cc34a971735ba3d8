import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderKeepalived } from '../../layer1/pair/keepalived.js';
import { loadConfigFile } from '../../shared/config/load.js';
import { VcpError } from '../../shared/errors.js';

/**
 * keepalived-conf --config FILE --node NODE [--out FILE] [--notify-log FILE] [-- LAYER1 ARGV...]
 * Writes keepalived.conf for one layer-1 pair member. The argv after `--` is the exact command line
 * of that node's layer-1 process, tracked by keepalived so that its death faults the instance.
 */
const repo = (p: string): string => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

function main(): number {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        node: { type: 'string' },
        pop: { type: 'string' },
        out: { type: 'string' },
        'check-script': { type: 'string' },
        'notify-script': { type: 'string' },
        'notify-log': { type: 'string' },
      },
    });
  } catch (err) {
    process.stderr.write(`keepalived-conf: ${(err as Error).message}\n`);
    return 2;
  }
  const v = parsed.values;
  if (!v.config || !v.node) {
    process.stderr.write('keepalived-conf: --config FILE and --node NODE are required\n');
    return 2;
  }
  try {
    const config = loadConfigFile(v.config, { pop: v.pop, node: v.node });
    const text = renderKeepalived(config, v.node, {
      checkScript: v['check-script'] ?? repo('scripts/failover/check-layer1'),
      notifyScript: v['notify-script'] ?? repo('scripts/failover/keepalived-notify'),
      notifyLog: v['notify-log'] ?? `/var/log/vcproxy/keepalived-${v.node}.log`,
      layer1Argv: parsed.positionals,
    });
    if (v.out) writeFileSync(v.out, text, { mode: 0o644 });
    else process.stdout.write(text);
    return 0;
  } catch (err) {
    process.stderr.write(`keepalived-conf: ${err instanceof VcpError ? `${err.code}: ` : ''}${(err as Error).message}\n`);
    return err instanceof VcpError ? 3 : 1;
  }
}

process.exitCode = main();
