import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

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
  return file ? pino(options, pino.destination({ dest: file, sync: false, mkdir: true })) : pino(options);
}
