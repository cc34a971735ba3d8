/**
 * The C allocator's setting the appliance's relaying processes run with (layer 1, the connector's
 * workers), given to them through `GLIBC_TUNABLES` by whoever starts them: the layer-1 systemd units,
 * `npm start`, the connector's supervisor (for its workers) and the benchmarks.
 *
 * Node.js reads each TCP socket that a server accepted into a fresh 64 KiB buffer from malloc, freed
 * once garbage collection finds it unused. With glibc's default trim threshold (128 KiB) the memory
 * freed at the top of the heap goes back to the kernel between collections, and the next buffers fault
 * fresh pages in during the read itself: layer 1 relayed TCP at 0.4–0.5 of the MB/s of the same relay
 * whose heap happened not to shrink, with the same number of reads taking 2.6 times as long
 * (`strace -c`). A threshold of 64 MiB keeps that memory: at most 64 MiB more stays resident after a
 * burst.
 */
export const TRIM_THRESHOLD_BYTES = 64 << 20;

const TUNABLE = 'glibc.malloc.trim_threshold';

/** The trim threshold GLIBC_TUNABLES sets in `env`, as written there; undefined when it sets none. */
function trimThreshold(env: NodeJS.ProcessEnv): string | undefined {
  const t = (env.GLIBC_TUNABLES ?? '').split(':').find((x) => x.startsWith(`${TUNABLE}=`));
  return t?.slice(TUNABLE.length + 1);
}

/** `env` with the trim threshold added to GLIBC_TUNABLES; a threshold the operator set there stays. */
export function withAllocatorTuning(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (trimThreshold(env) !== undefined) return env;
  const setting = `${TUNABLE}=${TRIM_THRESHOLD_BYTES}`;
  return { ...env, GLIBC_TUNABLES: env.GLIBC_TUNABLES ? `${env.GLIBC_TUNABLES}:${setting}` : setting };
}

/** The trim threshold this process was started with (for its start log line), or `glibc default`. */
export function allocatorTuning(env: NodeJS.ProcessEnv = process.env): string {
  const t = trimThreshold(env);
  return t !== undefined ? `trim_threshold ${t}` : 'glibc default (GLIBC_TUNABLES has no trim_threshold: TCP relaying runs slower)';
}
