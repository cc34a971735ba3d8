import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What ip-takeover keeps per POP edge between runs: the operator's order and the POP's history. */
export interface EdgeState {
  override: 'takeover' | 'release' | undefined;
  carriedBefore: boolean;
  updatedAt: string;
  by: string;
}

const EMPTY: EdgeState = { override: undefined, carriedBefore: false, updatedAt: '', by: '' };

export const stateFile = (dir: string, pop: string): string => join(dir, `ip-takeover-${pop}.json`);

/** A missing or unreadable file is the empty state: nothing ordered, nothing carried. */
export function readState(dir: string, pop: string): EdgeState {
  try {
    const raw = JSON.parse(readFileSync(stateFile(dir, pop), 'utf8')) as Partial<EdgeState>;
    return {
      override: raw.override === 'takeover' || raw.override === 'release' ? raw.override : undefined,
      carriedBefore: raw.carriedBefore === true,
      updatedAt: typeof raw.updatedAt === 'string' ? raw.updatedAt : '',
      by: typeof raw.by === 'string' ? raw.by : '',
    };
  } catch {
    return { ...EMPTY };
  }
}

/** Written to a temporary file and renamed, so a reader never sees half a file. */
export function writeState(dir: string, pop: string, s: EdgeState): void {
  mkdirSync(dir, { recursive: true });
  const file = stateFile(dir, pop);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(s)}\n`);
  renameSync(tmp, file);
}
