import { readdirSync, readFileSync } from 'node:fs';
import { sh } from './lab.js';

/**
 * CPU time of process trees, from /proc: what a candidate spends per call, which stays comparable
 * where the pass/fail ladder of call rates jumps with the load of a shared machine. A process's time
 * counts all its threads (the garbage collector's and lmdb's included); a tree is a process and every
 * process it started (a supervisor and its workers, Kamailio's children).
 */

/** Clock ticks per second of /proc/<pid>/stat (100 on Linux unless built otherwise). */
export const TICKS_PER_SECOND = Number(sh('getconf CLK_TCK')) || 100;

interface Stat {
  ppid: number;
  ticks: number;
}

/** The fields after the command name (which may hold spaces and parentheses): state is field 3. */
function readStat(pid: number): Stat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

/**
 * One reading of every process's CPU time; `seconds(roots)` sums the trees of `roots` (the roots
 * included) from it, so that the trees read together are read at the same instant.
 */
export function readCpu(): { seconds(roots: ReadonlyArray<number | undefined>): number } {
  const stats = new Map<number, Stat>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const st = readStat(pid);
    if (st) stats.set(pid, st);
  }
  return {
    seconds(roots) {
      const inTree = new Set<number>(roots.filter((p): p is number => p !== undefined && stats.has(p)));
      // Parents come before children in no particular order: repeat until nothing is added.
      for (let grew = true; grew; ) {
        grew = false;
        for (const [pid, st] of stats) {
          if (!inTree.has(pid) && inTree.has(st.ppid)) {
            inTree.add(pid);
            grew = true;
          }
        }
      }
      let ticks = 0;
      for (const pid of inTree) ticks += stats.get(pid)!.ticks;
      return ticks / TICKS_PER_SECOND;
    },
  };
}

/** Microseconds of CPU per call between two readings of a tree's seconds (`readCpu`). */
export const perCallMicros = (before: number, after: number, calls: number): number => (calls > 0 ? ((after - before) * 1e6) / calls : 0);
