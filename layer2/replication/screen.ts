import { invalidEvent, type ProfileEvent } from '../profiles/events.js';
import { hostOf, subjectOf } from './subjects.js';

/** Why an event from the stream was refused; the label of `vcp_replication_rejected_total`. */
export type RejectReason = 'too-large' | 'not-json' | 'invalid' | 'subject' | 'unknown-origin';

export type Screened =
  /** another host's event, well formed: to apply */
  | { kind: 'event'; event: ProfileEvent }
  /** one of this host's own events coming back: already applied here */
  | { kind: 'own'; event: ProfileEvent }
  /**
   * `skip`: the origin and number the rejected event was published under, when they are those of a
   * known host's own subject: the number is counted as applied so that it leaves no hole.
   */
  | { kind: 'rejected'; reason: RejectReason; detail: string; origin: string; skip?: { origin: string; seq: number } };

export interface ScreenContext {
  subjectPrefix: string;
  /** this host's connector name */
  ownHost: string;
  /** every connector named in the configuration */
  knownHosts: ReadonlySet<string>;
  maxBytes: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The claimed origin for a log line: short, printable. */
function shown(origin: unknown, subject: string, prefix: string): string {
  if (typeof origin === 'string') return origin.length > 128 ? `${origin.slice(0, 128)}…` : origin;
  return subject.startsWith(`${prefix}.`) ? `(subject ${subject.slice(prefix.length + 1, prefix.length + 129)})` : '(unknown)';
}

/**
 * What to do with one message of the stream, decided from its subject and bytes alone: an event of
 * another host to apply, one of this host's own, or a rejection with its reason. The origin must be
 * a connector of the configuration and match the subject the event was published on, so a host
 * cannot speak for another by publishing on its own subject.
 */
export function screen(subject: string, data: Uint8Array, ctx: ScreenContext, msgId = ''): Screened {
  const skip = numbered(subject, msgId, ctx);
  if (data.length > ctx.maxBytes) return { kind: 'rejected', reason: 'too-large', detail: `${data.length} bytes, at most ${ctx.maxBytes}`, origin: shown(undefined, subject, ctx.subjectPrefix), ...skip };
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(data));
  } catch (err) {
    return { kind: 'rejected', reason: 'not-json', detail: (err as Error).message.slice(0, 200), origin: shown(undefined, subject, ctx.subjectPrefix), ...skip };
  }
  const claimed = value !== null && typeof value === 'object' ? (value as { origin?: unknown }).origin : undefined;
  const why = invalidEvent(value);
  if (why) {
    const seq = (value as { seq?: unknown } | null)?.seq;
    const bySelf = skip.skip === undefined && typeof claimed === 'string' && Number.isSafeInteger(seq) && (seq as number) > 0 ? numbered(subject, `${claimed}:${seq as number}`, ctx) : skip;
    return { kind: 'rejected', reason: 'invalid', detail: why, origin: shown(claimed, subject, ctx.subjectPrefix), ...bySelf };
  }
  const event = value as ProfileEvent;
  if (subjectOf(ctx.subjectPrefix, event.origin) !== subject) {
    return { kind: 'rejected', reason: 'subject', detail: `published on ${subject.slice(0, 200)}, not on its origin's subject`, origin: shown(event.origin, subject, ctx.subjectPrefix) };
  }
  const host = hostOf(event.origin);
  if (host === ctx.ownHost) return { kind: 'own', event };
  if (!ctx.knownHosts.has(host)) return { kind: 'rejected', reason: 'unknown-origin', detail: `no connector named ${host.slice(0, 64)} in the configuration`, origin: shown(event.origin, subject, ctx.subjectPrefix) };
  return { kind: 'event', event };
}

/**
 * The origin and number of a message id `<origin>:<seq>` (the publisher's de-duplication key), when
 * the origin is another known host's and the message came on that origin's own subject: only then
 * may its number be counted without its event.
 */
function numbered(subject: string, msgId: string, ctx: ScreenContext): { skip?: { origin: string; seq: number } } {
  const colon = msgId.lastIndexOf(':');
  if (colon <= 0) return {};
  const origin = msgId.slice(0, colon);
  const seq = Number(msgId.slice(colon + 1));
  if (!Number.isSafeInteger(seq) || seq < 1 || origin.length > 128) return {};
  const host = hostOf(origin);
  if (host === ctx.ownHost || !ctx.knownHosts.has(host) || subjectOf(ctx.subjectPrefix, origin) !== subject) return {};
  return { skip: { origin, seq } };
}
