/**
 * Where an origin's events go: `<prefix>.<host>.<writer>` (origin `ca/0` → `vcp.profiles.ca.0`), so
 * `<prefix>.ca.>` is everything host `ca` wrote. Characters NATS gives a meaning in subjects (dot,
 * wildcards, white space) and `%` are %-escaped, so every origin has a subject of its own.
 */
export function subjectOf(prefix: string, origin: string): string {
  const slash = origin.indexOf('/');
  if (slash < 0) return `${prefix}.${escapeToken(origin)}`;
  return `${prefix}.${escapeToken(origin.slice(0, slash))}.${escapeToken(origin.slice(slash + 1))}`;
}

/** The host (connector) part of an origin: `ca/0` → `ca`. */
export function hostOf(origin: string): string {
  const slash = origin.indexOf('/');
  return slash < 0 ? origin : origin.slice(0, slash);
}

/** JetStream's de-duplication key of an event. */
export const messageId = (origin: string, seq: number): string => `${origin}:${seq}`;

function escapeToken(s: string): string {
  if (s.length === 0) return '%';
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    // ".", "*", ">", "%", controls, space, and every byte of a non-ASCII character
    if (b === 0x2e || b === 0x2a || b === 0x3e || b === 0x25 || b <= 0x20 || b >= 0x7f) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += String.fromCharCode(b);
  }
  return out;
}
