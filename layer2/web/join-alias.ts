/**
 * The H.323 way in of a join page. A room system dials `ALIAS@ADDRESS` (an H.323-ID alias at the
 * connector's call-signalling address); the alias carries the meeting, the join token and the server
 * the page named:
 *
 *     <meeting>+<token>+<server>          e.g.  board+3f9a0c1d22e4b817+ams-1@192.0.2.10
 *
 * The token is 16 lower-case hex digits and the server a configured server name, so the alias is read
 * from the right and a meeting name that itself holds `+` stays whole. An H.323 connector that finds
 * such a destination alias treats the call as the arrival of that join link (`LearningEngine.arrival`
 * with the token and the server as hint) and the meeting as the one dialled.
 */
export interface JoinAlias {
  meeting: string;
  token: string;
  server: string;
}

const TOKEN = /^[0-9a-f]{16}$/;
const SERVER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function formatJoinAlias(a: JoinAlias): string {
  return `${a.meeting}+${a.token}+${a.server}`;
}

/** The parts of a join alias, or undefined when the alias is an ordinary one. */
export function parseJoinAlias(alias: string): JoinAlias | undefined {
  if (alias.length > 256) return undefined;
  const s = alias.lastIndexOf('+');
  if (s <= 0) return undefined;
  const t = alias.lastIndexOf('+', s - 1);
  if (t <= 0) return undefined;
  const meeting = alias.slice(0, t);
  const token = alias.slice(t + 1, s);
  const server = alias.slice(s + 1);
  if (!TOKEN.test(token) || !SERVER.test(server)) return undefined;
  return { meeting, token, server };
}
