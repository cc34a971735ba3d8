import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The outcome of the last reload, as a service writes it for `systemctl reload` to read. */
export interface ReloadStatus {
  /** Counts reloads since the process started (and its predecessors, see `ReloadStatusFile`). */
  generation: number;
  ok: boolean;
  /** ISO time of the outcome. */
  at: string;
  /** What was applied, or why the new configuration was refused. */
  message: string;
  pid: number;
}

/** Where a unit's reload status lives: `reload.json` in its RuntimeDirectory (systemd sets RUNTIME_DIRECTORY). */
export function reloadStatusPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.RUNTIME_DIRECTORY?.split(':')[0];
  return dir ? join(dir, 'reload.json') : undefined;
}

export function readReloadStatus(path: string): ReloadStatus | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<ReloadStatus>;
    return typeof v.generation === 'number' ? (v as ReloadStatus) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes the reload status atomically (temporary file, then rename), so that a reader never sees half
 * a file. The generation goes on from the file's, so a restarted service still counts upwards.
 */
export class ReloadStatusFile {
  #generation: number;

  /** `onError`: told when the file cannot be written (the reload itself stands; only its report is lost). */
  constructor(
    readonly path: string | undefined,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    this.#generation = path ? (readReloadStatus(path)?.generation ?? 0) : 0;
  }

  get generation(): number {
    return this.#generation;
  }

  write(ok: boolean, message: string): void {
    this.#generation++;
    if (!this.path) return;
    const status: ReloadStatus = { generation: this.#generation, ok, at: new Date().toISOString(), message, pid: process.pid };
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(status)}\n`);
      renameSync(tmp, this.path);
    } catch (err) {
      this.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
