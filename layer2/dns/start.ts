import type { Registry } from 'prom-client';
import type { Config, ConnectorConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import { AddressSet } from '../../shared/net/address-set.js';
import type { LearningEngine } from '../learn/engine.js';
import { DnsMetrics } from './metrics.js';
import { ResolverOrder } from './order.js';
import { Responder } from './responder.js';
import { startDnsListener, type DnsListener } from './server.js';
import { Authority } from './zone.js';

export type { DnsListener };

export interface StartDnsOptions {
  config: Config;
  connector: ConnectorConfig;
  engine: LearningEngine;
  registry: Registry;
  log: Logger;
}

/** The DNS responder of a connector host, on `dns.address` (default: the connector's) and `dns.port`, UDP and TCP. */
export async function startDns(o: StartDnsOptions): Promise<DnsListener> {
  const log = o.log.child({ part: 'dns' });
  const order = new ResolverOrder(o.engine);
  const responder = new Responder({ authority: new Authority(o.config), order: (source, client) => order.preference(source, client), udpFactor: o.config.dns.udpFactor });
  const address = o.config.dns.address || o.connector.address;
  const l = await startDnsListener({
    address, port: o.config.dns.port, responder, metrics: new DnsMetrics(o.registry), log, tcpIdleMs: o.config.dns.tcpIdleMs, maxTcpConnections: o.config.dns.maxTcpConnections,
    maxTcpConnectionsPerSource: o.config.dns.maxTcpConnectionsPerSource, exempt: new AddressSet(o.config.limits.exempt), maxUnsentBytes: o.config.limits.maxUnsentBytes,
  });
  log.info({ dns: `${address}:${o.config.dns.port}`, zones: o.config.dns.zones.map((z) => z.name), names: o.config.dns.names.length }, 'DNS responder ready');
  return l;
}
