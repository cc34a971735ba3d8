import { nanos } from '@nats-io/transport-node';
import {
  AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiCodes, JetStreamApiError, ReplayPolicy, RetentionPolicy, StorageType,
  type ConsumerConfig, type JetStreamManager, type StreamConfig,
} from '@nats-io/jetstream';
import type { ReplicationConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import { ReplicationError } from './errors.js';

/** Does the subject filter `filter` take every subject `wanted` (itself a filter) takes? */
export function covers(filter: string, wanted: string): boolean {
  const f = filter.split('.');
  const w = wanted.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return i < w.length;
    if (i >= w.length) return false;
    if (f[i] === '*') {
      if (w[i] === '>') return false;
      continue;
    }
    if (f[i] !== w[i]) return false;
  }
  return f.length === w.length;
}

const notFound = (err: unknown, code: number): boolean => err instanceof JetStreamApiError && err.code === code;

/**
 * The stream of every host's profile events: file storage, limits retention (`maxAgeMs`), JetStream
 * de-duplication by message id over `duplicateWindowMs`. Created when missing; an existing stream
 * must take the subjects; a different replica count is updated.
 */
export async function ensureStream(jsm: JetStreamManager, c: ReplicationConfig, log: Logger): Promise<void> {
  const subject = `${c.subjectPrefix}.>`;
  try {
    const si = await jsm.streams.info(c.stream);
    const subjects = si.config.subjects ?? [];
    if (!subjects.some((s) => covers(s, subject))) {
      throw new ReplicationError('VCP_ERR_REPL_STREAM', `stream ${c.stream} exists with subjects ${JSON.stringify(subjects)}, which do not take ${subject}: change replication.stream or replication.subjectPrefix`);
    }
    if (si.config.num_replicas !== c.replicas) {
      try {
        await jsm.streams.update(c.stream, { num_replicas: c.replicas });
        log.info({ stream: c.stream, replicas: c.replicas, was: si.config.num_replicas }, 'replication stream replicas changed');
      } catch (err) {
        log.warn({ code: 'VCP_ERR_REPL_STREAM', stream: c.stream, replicas: c.replicas, was: si.config.num_replicas, err: (err as Error).message }, 'replication stream keeps its replica count');
      }
    }
    return;
  } catch (err) {
    if (!notFound(err, JetStreamApiCodes.StreamNotFound)) throw err;
  }
  const config: Partial<StreamConfig> & { name: string } = {
    name: c.stream,
    subjects: [subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: c.replicas,
    max_age: nanos(c.maxAgeMs),
    duplicate_window: nanos(c.duplicateWindowMs),
  };
  try {
    await jsm.streams.add(config);
    log.info({ stream: c.stream, subjects: [subject], replicas: c.replicas }, 'replication stream created');
  } catch (err) {
    // Another host may have created it at the same moment.
    await jsm.streams.info(c.stream).catch(() => {
      throw new ReplicationError('VCP_ERR_REPL_STREAM', `stream ${c.stream} cannot be created: ${(err as Error).message}`, { cause: err });
    });
  }
}

/**
 * This host's durable pull consumer: every event of the stream from the start (a new host learns
 * what the stream still holds), explicit acknowledgement after the event is committed locally.
 */
export async function ensureConsumer(jsm: JetStreamManager, c: ReplicationConfig, name: string, log: Logger): Promise<void> {
  const wanted: Partial<ConsumerConfig> = {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    filter_subject: `${c.subjectPrefix}.>`,
    ack_wait: nanos(c.ackWaitMs),
    max_ack_pending: Math.max(1000, 4 * c.applyWindow),
    max_deliver: -1,
  };
  try {
    const ci = await jsm.consumers.info(c.stream, name);
    if (ci.config.filter_subject !== wanted.filter_subject || ci.config.ack_wait !== wanted.ack_wait || ci.config.max_ack_pending !== wanted.max_ack_pending) {
      await jsm.consumers.update(c.stream, name, { filter_subject: wanted.filter_subject, ack_wait: wanted.ack_wait, max_ack_pending: wanted.max_ack_pending }).then(
        () => log.info({ stream: c.stream }, 'replication consumer updated'),
        (err: unknown) => log.warn({ code: 'VCP_ERR_REPL_STREAM', stream: c.stream, err: (err as Error).message }, 'replication consumer keeps its settings'),
      );
    }
    return;
  } catch (err) {
    if (!notFound(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  try {
    await jsm.consumers.add(c.stream, wanted);
    log.info({ stream: c.stream }, 'replication consumer created');
  } catch (err) {
    throw new ReplicationError('VCP_ERR_REPL_STREAM', `consumer ${name} of stream ${c.stream} cannot be created: ${(err as Error).message}`, { cause: err });
  }
}
