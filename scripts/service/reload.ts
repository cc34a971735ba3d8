import { parseArgs } from 'node:util';
import { readReloadStatus, reloadStatusPath } from '../../shared/service/reload-status.js';

const USAGE = `usage: reload PID [--status FILE] [--timeout-ms 60000]
Asks a vcproxy service to reload (SIGHUP) and waits for its answer in the status file (default
$RUNTIME_DIRECTORY/reload.json, as systemd sets it for the unit). Exit 0: the new configuration
applies; 1: it was refused (the reason is printed) or no answer came in time; 2: bad usage.
This is the units' ExecReload=, so that systemctl reload fails when the configuration is refused.`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { status: { type: 'string' }, 'timeout-ms': { type: 'string', default: '60000' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const pid = Number(positionals[0]);
  const file = values.status ?? reloadStatusPath();
  const timeoutMs = Number(values['timeout-ms']);
  if (!Number.isInteger(pid) || pid <= 1 || !file || !(timeoutMs > 0)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const before = readReloadStatus(file)?.generation ?? 0;
  try {
    process.kill(pid, 'SIGHUP');
  } catch (err) {
    process.stderr.write(`reload: cannot signal process ${pid} (${(err as NodeJS.ErrnoException).code ?? String(err)})\n`);
    return 1;
  }
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const s = readReloadStatus(file);
    if (s && s.generation > before) {
      (s.ok ? process.stdout : process.stderr).write(`reload: ${s.ok ? 'applied' : 'refused'}: ${s.message}\n`);
      return s.ok ? 0 : 1;
    }
    await sleep(50);
  }
  process.stderr.write(`reload: process ${pid} did not report the outcome in ${file} within ${timeoutMs} ms\n`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`reload: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
