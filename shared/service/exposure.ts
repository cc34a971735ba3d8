import { isIP } from 'node:net';
import { Gauge, type Registry } from 'prom-client';

/** A plain-text (no TLS) HTTP listener of a process: its role, address and port. */
export interface PlainListener {
  role: string;
  address: string;
  port: number;
}

/** Loopback addresses only; a wildcard (0.0.0.0, ::) listens on every address. */
export function isLoopback(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  return address === '::1';
}

/**
 * `vcp_plaintext_port_exposed{role, address, port}`: 1 for a listener without TLS (admin API, layer-1
 * control, metrics, health, join page) bound beyond loopback, 0 on loopback. The alert
 * VcproxyPlaintextPortExposed fires on the 1s that an operator did not mean (see docs/operations.md).
 */
export function registerExposure(registry: Registry, listeners: () => readonly PlainListener[]): void {
  new Gauge({
    name: 'vcp_plaintext_port_exposed',
    help: 'a listener without TLS bound beyond loopback (1) or on loopback (0)',
    labelNames: ['role', 'address', 'port'],
    registers: [registry],
    collect(this: Gauge<'role' | 'address' | 'port'>) {
      this.reset();
      for (const l of listeners()) if (l.port > 0) this.set({ role: l.role, address: l.address, port: String(l.port) }, isLoopback(l.address) ? 0 : 1);
    },
  });
}
