import { findMember } from '../../shared/config/identity.js';
import type { Config } from '../../shared/config/types.js';
import { ConfigError } from '../../shared/errors.js';

/** Where the generated keepalived.conf finds the scripts it runs, and what it tracks. */
export interface KeepalivedOptions {
  /** Executable run as the track script with the URL of layer 1's /health (exit 0 = healthy). */
  checkScript: string;
  /** Executable run on each transition: `<notifyScript> --log <notifyLog> <state> <pop> <node> <instance>`. */
  notifyScript: string;
  notifyLog: string;
  /**
   * The exact argv of this node's layer-1 process. When set, keepalived also tracks the process
   * itself (netlink process events), so that its death faults the instance at once instead of after
   * the track script's next runs.
   */
  layer1Argv?: readonly string[];
}

const SAFE = /^[^\s"'\\{}#!]+$/;

/** keepalived's quoted strings cannot escape quotes: refuse anything that would need it. */
function word(config: Config, what: string, value: string): string {
  if (!SAFE.test(value)) throw new ConfigError(config.file, what, `a path or argument without spaces, quotes, braces, # or ! (keepalived cannot quote it), got ${JSON.stringify(value)}`);
  return value;
}

export const instanceName = (pop: string): string => `vcp_wk_${pop}`;

/**
 * keepalived.conf for one member of a POP's layer-1 pair: VRRPv3 with sub-second adverts, both
 * members BACKUP with nopreempt (the first to see no master takes the address; a member that comes
 * back does not take it again, so recovery causes no second blip), unicast adverts to the other
 * member, the well-known address as the virtual address, a track script on layer 1's /health and
 * notify scripts on every transition.
 */
export function renderKeepalived(config: Config, node: string, o: KeepalivedOptions): string {
  const found = findMember(config, node);
  if (!found) throw new ConfigError(config.file, '--node', `the name of a layer-1 pair member, got "${node}"`);
  const { pop, member, peer } = found;
  const pair = pop.pair;
  const control = config.layer1.control;
  const host = control.address === '0.0.0.0' ? '127.0.0.1' : control.address;
  const url = `http://${host}:${control.port}/health`;
  const check = word(config, '--check-script', o.checkScript);
  const notify = word(config, '--notify-script', o.notifyScript);
  const log = word(config, '--notify-log', o.notifyLog);
  const name = instanceName(pop.pop);
  const seconds = (ms: number): string => (ms / 1000).toFixed(2).replace(/0$/, '');
  const lines: string[] = [
    `# keepalived.conf for layer-1 node ${node} of POP ${pop.pop}, generated from ${config.file}.`,
    '# Regenerate instead of editing: scripts/failover/keepalived-conf --config FILE --node NODE',
    'global_defs {',
    `  router_id vcp_${node}`,
    '  vrrp_version 3',
    '  script_user root',
    '  enable_script_security',
    // One GARP burst on becoming master, and a refresh so that a missed one heals.
    '  vrrp_garp_master_delay 1',
    '  vrrp_garp_master_repeat 3',
    '  vrrp_garp_master_refresh 10',
    // Sub-second adverts must leave on time on a busy host: the VRRP process runs real-time, so a
    // CPU-bound neighbour cannot delay an advert into a false takeover.
    '  vrrp_rt_priority 50',
    '}',
    '',
    'vrrp_script vcp_layer1_health {',
    `  script "${check} ${url}"`,
    `  interval ${pair.check.intervalS}`,
    `  timeout ${Math.max(1, pair.check.intervalS)}`,
    `  fall ${pair.check.fall}`,
    `  rise ${pair.check.rise}`,
    '}',
  ];
  if (o.layer1Argv && o.layer1Argv.length > 0) {
    lines.push(
      '',
      'vrrp_track_process vcp_layer1_process {',
      `  process ${o.layer1Argv.map((a) => word(config, 'layer-1 argv', a)).join(' ')}`,
      '  delay 0.05',
      '}',
    );
  }
  const notifyLine = (state: string): string => `  notify_${state} "${notify} --log ${log} ${state} ${pop.pop} ${node} ${name}"`;
  lines.push(
    '',
    `vrrp_instance ${name} {`,
    '  state BACKUP',
    '  nopreempt',
    `  interface ${pair.interface}`,
    `  virtual_router_id ${pair.vrid}`,
    `  priority ${member.priority}`,
    `  advert_int ${seconds(pair.advertIntervalMs)}`,
  );
  if (pair.unicast) {
    lines.push(`  unicast_src_ip ${member.address}`, '  unicast_peer {', `    ${peer.address}`, '  }');
  }
  lines.push(
    '  virtual_ipaddress {',
    `    ${config.wellKnown.address}/32 dev ${pair.interface}`,
    '  }',
    '  track_script {',
    '    vcp_layer1_health',
    '  }',
  );
  if (o.layer1Argv && o.layer1Argv.length > 0) lines.push('  track_process {', '    vcp_layer1_process', '  }');
  lines.push(notifyLine('master'), notifyLine('backup'), notifyLine('fault'), notifyLine('stop'), '}', '');
  return lines.join('\n');
}
