import type { Logger } from '../shared/logger.js';

/**
 * Give up root once every port is bound: protocol work runs unprivileged so that a bug reached by
 * hostile input cannot do more than break this one worker. No-op when not running as root.
 */
export function dropPrivileges(runAs: { user: string; group: string } | undefined, log: Logger): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  const user = runAs?.user ?? 'nobody';
  const group = runAs?.group ?? 'nogroup';
  if (user === 'root') return;
  process.setgid?.(group);
  process.setuid?.(user);
  log.info({ user, group }, 'privileges dropped');
}
