import { Gauge, type Registry } from 'prom-client';
import { buildInfo, type BuildInfo } from './build.js';

/** `vcp_build_info{role, version, code} 1`: which code each process runs (dashboards show upgrades in progress). */
export function registerBuildInfo(registry: Registry, role: string, info: BuildInfo = buildInfo()): void {
  const g = new Gauge({ name: 'vcp_build_info', help: 'the version and code identity this process runs (always 1)', labelNames: ['role', 'version', 'code'], registers: [registry] });
  g.labels(role, info.version, info.code).set(1);
}
