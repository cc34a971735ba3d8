import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { VcpError } from './errors.js';

export type { Logger } from 'pino';

/**
 * The file named by VCP_LOG_FILE, opened for appending now, before the caller goes on: a process
 * started as root opens it before it gives up root and writes to it afterwards. (pino opens a file
 * it is given by name later, asynchronously: a worker would by then run as `runAs` and be refused
 * the file its supervisor created.)
 */
function openLogFile(file: string): number {
  try {
    mkdirSync(dirname(file), { recursive: true });
    return openSync(file, 'a');
  } catch (err) {
    throw new VcpError('VCP_ERR_LOG_FILE', `cannot open the log file ${file} (VCP_LOG_FILE) for appending (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
}

/**
 * One structured event per line on stdout (or the file named by VCP_LOG_FILE). `role` tells which
 * process wrote the line (layer1, connector, worker, backend...). Level from VCP_LOG_LEVEL.
 */
export function createLogger(role: string, extra: Record<string, unknown> = {}): Logger {
  const options: LoggerOptions = {
    level: process.env.VCP_LOG_LEVEL ?? 'info',
    base: { role, pid: process.pid, ...extra },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const file = process.env.VCP_LOG_FILE;
  return file ? pino(options, pino.destination({ dest: openLogFile(file), sync: false })) : pino(options);
}
