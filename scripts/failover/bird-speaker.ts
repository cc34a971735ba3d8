import type { Config, PopFailoverConfig } from '../../shared/config/types.js';
import { Bird } from './names.js';

export interface SpeakerOptions {
  /** BIRD's log target: a file path, or undefined for stderr. */
  log?: string | undefined;
}

/**
 * bird.conf for a POP edge: one eBGP session per upstream neighbour (with BFD when asked), and two
 * static protocols holding the well-known prefix, both disabled at start: `vcp_wk` is exported as
 * is (this POP carries the address), `vcp_wk_backup` with `backupPrepend` copies of the local AS
 * prepended (a standby announcement the upstream uses only when no better one exists). ip-takeover
 * enables and disables them with birdc; nothing is announced until it does. Routes are never
 * written to the kernel: ip-takeover manages the edge route to the pair itself. From the upstream
 * the speaker accepts only the well-known prefix: that is how it sees which POP carries it.
 */
export function renderBirdSpeaker(config: Config, pf: PopFailoverConfig, o: SpeakerOptions = {}): string {
  const policy = config.failover!;
  const b = pf.bgp;
  const keepalive = Math.max(1, Math.floor(b.holdTimeS / 3));
  const prepends = Array.from({ length: policy.backupPrepend }, () => `bgp_path.prepend(${b.localAs});`).join(' ');
  const anyBfd = b.neighbours.some((n) => n.bfd);
  const lines = [
    `# bird.conf for the edge of POP ${pf.pop}, generated from ${config.file}.`,
    '# Regenerate instead of editing: scripts/failover/bird-conf --config FILE --pop POP',
    `router id ${b.routerId};`,
    o.log ? `log "${o.log}" all;` : 'log stderr all;',
    '',
    'protocol device { scan time 10; }',
    '',
  ];
  if (anyBfd) {
    lines.push(
      'protocol bfd vcp_bfd {',
      '  interface "*" {',
      `    min rx interval ${b.bfd.intervalMs} ms;`,
      `    min tx interval ${b.bfd.intervalMs} ms;`,
      `    multiplier ${b.bfd.multiplier};`,
      '  };',
      '}',
      '',
    );
  }
  lines.push(
    `protocol static ${Bird.Active} {`,
    '  disabled;',
    '  ipv4;',
    `  route ${b.prefix} via "${b.edgeInterface}";`,
    '}',
    '',
    `protocol static ${Bird.Backup} {`,
    '  disabled;',
    '  ipv4;',
    `  route ${b.prefix} via "${b.edgeInterface}";`,
    '}',
    '',
    'filter vcp_export {',
    `  if net != ${b.prefix} then reject;`,
    `  if proto = "${Bird.Backup}" then { ${prepends} }`,
    '  accept;',
    '}',
    '',
    'filter vcp_import {',
    `  if net = ${b.prefix} then accept;`,
    '  reject;',
    '}',
    '',
    'template bgp vcp_upstream {',
    `  local ${b.localAddress} as ${b.localAs};`,
    '  ipv4 { import filter vcp_import; export filter vcp_export; };',
    `  hold time ${b.holdTimeS};`,
    `  keepalive time ${keepalive};`,
    '  connect delay time 1;',
    '  connect retry time 1;',
    '  error wait time 1, 10;',
    // A POP that vanished must not linger as a stale route at the upstream.
    '  graceful restart off;',
    '}',
    '',
  );
  b.neighbours.forEach((n, i) => {
    lines.push(`protocol bgp ${Bird.UpstreamPrefix}${i + 1} from vcp_upstream {`, `  neighbor ${n.address} as ${n.as};`);
    if (n.bfd) lines.push('  bfd on;');
    lines.push('}', '');
  });
  return lines.join('\n');
}
