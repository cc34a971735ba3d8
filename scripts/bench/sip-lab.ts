import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labDir, spawnQuiet } from './lab.js';

/** The SIP capacity set-up shared by `bench` and `bench:compare`: sipp runs and the configurations. */

export const WK = '127.0.9.1';
export const CONN = '127.0.9.2';
export const KAM = '127.0.9.3';
export const UAS = '127.0.9.10';
export const UAC = '127.0.9.100';

export interface SippResult {
  ok: number;
  failed: number;
}

/**
 * Both sipps' socket buffers (`-buff_size`, capped by net.core.rmem_max): with sipp's default of 64 KB
 * the load generator itself drops datagrams in every burst (a scheduling gap of a few ms at thousands
 * of calls/s), and those losses would be charged to whichever candidate is being measured.
 */
export const SIPP_BUFFER = 4 << 20;

/**
 * One sipp UAC run of `-sn uac` over UDP at `rate` calls/s for `duration` s; every call not counted
 * successful by sipp (timeouts, unexpected messages, calls still open when it stops) is failed.
 */
export function sippRun(target: string, rate: number, duration: number, port: number): Promise<SippResult> {
  const dir = labDir('vcp-bench-');
  const total = rate * duration;
  const args = ['-sn', 'uac', target, '-i', UAC, '-p', String(port), '-t', 'u1', '-r', String(rate), '-m', String(total), '-l', String(rate * 4),
    '-default_behaviors', 'all,-abortunexp', '-nostdin', '-trace_stat', '-stf', join(dir, 's.csv'), '-fd', '1', '-timeout', `${duration * 3 + 30}s`, '-timeout_error', '-recv_timeout', '10000', '-buff_size', String(SIPP_BUFFER)];
  const c = spawnQuiet('sipp', args, dir);
  return new Promise((resolve) => {
    c.on('exit', () => {
      const f = join(dir, 's.csv');
      const text = existsSync(f) ? readFileSync(f, 'utf8') : undefined;
      rmSync(dir, { recursive: true, force: true });
      if (text === undefined) return resolve({ ok: 0, failed: total });
      const lines = text.trim().split('\n');
      const head = lines[0]!.split(';');
      const last = lines[lines.length - 1]!.split(';');
      const ok = Number(last[head.indexOf('SuccessfulCall(C)')]);
      resolve({ ok, failed: total - ok });
    });
  });
}

/**
 * The one backend every candidate forwards to: sipp answering every INVITE with 200 at once and again
 * when the INVITE comes again (scripts/sipp/uas-answer.xml). sipp's built-in UAS aborts a call whose
 * INVITE is retransmitted after its answers, so near saturation it would charge a proxy's Timer A
 * retransmissions to that proxy as failed calls.
 */
export const UAS_SCENARIO = fileURLToPath(new URL('../../../scripts/sipp/uas-answer.xml', import.meta.url));
export const sippUas = (cwd: string) => spawnQuiet('sipp', ['-sf', UAS_SCENARIO, '-i', UAS, '-p', '5060', '-t', 'u1', '-nostdin', '-buff_size', String(SIPP_BUFFER)], cwd);

export function applianceConfig(workers: number): string {
  return `
pop: bench
wellKnown: { address: ${WK}, sip: 5060 }
pops: [ { name: bench } ]
layer1:
  health: { intervalMs: 250, timeoutMs: 250, fall: 3, rise: 1 }
  metrics: { address: ${WK}, port: 9100 }
  control: { address: ${WK}, port: 9101 }
connectors:
  - { name: c, pop: bench, address: ${CONN}, workers: ${workers}, ports: { sipProxied: 15060, sip: 25060, health: 18080 } }
servers:
  - { name: uas, pop: bench, address: ${UAS}, sipPort: 5060, sipTransport: udp, capacity: 100000, probe: none }
# sipp is the load tester: thousands of requests a second from one address, past the flood guard.
limits: { exempt: [${UAC}/32] }
`;
}

/** Kamailio's dispatcher in front of the UAS, stateful (tm) with record-routing, like the connector. */
export function kamailioConfig(dispatcherList: string): string {
  return `#!KAMAILIO
children=4
listen=udp:${KAM}:5060
disable_tcp=yes
log_stderror=no
debug=0
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "dispatcher.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "siputils.so"
modparam("dispatcher", "list_file", "${dispatcherList}")
request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
    # Clients that ignore Record-Route (sipp's built-in UAC) send in-dialog requests to this
    # address with no Route: send them to the backend set, as the connector routes them by dialog.
    if (uri == myself && !ds_select_dst("1", "4")) { sl_send_reply("503", "No backend"); exit; }
    t_relay(); exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
  record_route();
  if (!ds_select_dst("1", "4")) { sl_send_reply("503", "No backend"); exit; }
  t_on_failure("FAIL");
  t_relay();
}
failure_route[FAIL] {
  if (t_is_canceled()) exit;
  if (t_check_status("503") || (t_branch_timeout() && !t_branch_replied())) {
    if (ds_next_dst()) { t_relay(); exit; }
  }
}
`;
}
