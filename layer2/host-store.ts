import type { Config, ConnectorConfig } from '../shared/config/types.js';
import { profilesPath } from '../shared/privileges.js';
import { ProfileStore } from './profiles/store.js';

/**
 * The connector host's own handle on the profile store (the admin API, server probes, replication
 * write through it). After a reload the supervisor may run without root: it reopens the store
 * through its directory handle (`profilesPath`).
 */
export function openHostStore(config: Config, connector: ConnectorConfig): ProfileStore {
  return ProfileStore.open(config.profiles.path, { origin: `${connector.name}/admin`, logSize: config.profiles.logSize, outbox: config.replication !== undefined, openAt: profilesPath(config.profiles.path) });
}
