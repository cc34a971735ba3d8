import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { parseSipMessage, SipMessageError } from '../../../layer2/sip/parser.js';
import { SipParseError } from '../../../layer2/sip/errors.js';
import { SipStreamFramer } from '../../../layer2/sip/framer.js';
import { H } from '../../../layer2/sip/headers.js';
import { findHeader } from '../../../layer2/sip/message.js';
import { parseSipUri, unescapeUri } from '../../../layer2/sip/uri.js';
import { throwsWith } from '../../helpers/assert.js';
import { buildForwardedRequest, buildForwardedResponse, buildResponse } from '../../../layer2/sip/builder.js';
import { fixture as fixturePath } from '../../helpers/paths.js';

const fixture = (name: string): Buffer =>
  readFileSync(fixturePath('sip', 'rfc4475', `${name}.dat`));

/** A deliberately plain message builder for tests (not the production serializer). */
function invite(o: { callId?: string; ua?: string; extra?: string[]; body?: string; cl?: number; branch?: string } = {}): Buffer {
  const body = o.body ?? '';
  const lines = [
    'INVITE sip:room@192.0.2.10 SIP/2.0',
    `Via: SIP/2.0/UDP 192.0.2.1:5060;branch=${o.branch ?? 'z9hG4bK-abc'}`,
    'Max-Forwards: 70',
    'From: "Room A" <sip:a@192.0.2.1>;tag=fa',
    'To: <sip:room@192.0.2.10>',
    `Call-ID: ${o.callId ?? 'c1@192.0.2.1'}`,
    'CSeq: 1 INVITE',
    'Contact: <sip:a@192.0.2.1:5060>',
    ...(o.ua ? [`User-Agent: ${o.ua}`] : []),
    ...(o.extra ?? []),
    `Content-Length: ${o.cl ?? Buffer.byteLength(body)}`,
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

t.test('wsinv: folding, odd whitespace, compact forms', async (t) => {
  const m = parseSipMessage(fixture('wsinv'), true);
  t.equal(m.kind, 'request');
  t.equal(m.callId, 'wsinv.ndaksdj@192.0.2.1');
  t.equal(m.cseq, 9);
  t.equal(m.cseqMethod, 'INVITE');
  t.equal(m.vias[0]!.host, '192.0.2.2');
  t.equal(m.vias[0]!.branch, '390skdjuw');
  t.equal(m.vias.length, 3);
  t.equal(m.vias[1]!.transport, 'TCP');
  t.equal(m.vias[1]!.branch, 'z9hG4bK9ikj8');
  t.equal(m.vias[2]!.host, '192.168.255.111');
  t.equal(m.maxForwards, 68);
  t.equal(m.to.tag, '1918181833n');
  t.equal(m.from.tag, '98asjd8');
  t.equal(m.from.display, '"J Rosenberg \\\\\\""');
  t.equal(m.body.length, 150);
  t.equal(findHeader(m, H.Route)?.value, '<sip:services.example.com;lr;unknownwith=value;unknown-no-value>');
  t.equal(findHeader(m, H.Other)?.name, 'NewFangledHeader');
  t.equal(findHeader(m, H.Other)?.value, 'newfangled value continued newfangled value');
});

t.test('esc01/escnull: escaped user parts compare equal to their unescaped form', async (t) => {
  const m = parseSipMessage(fixture('esc01'), true);
  t.equal(unescapeUri(parseSipUri(m.to.uri).user), 'user');
  t.equal(unescapeUri(parseSipUri(m.from.uri).user), 'I have spaces');
  t.equal(unescapeUri(parseSipUri(m.kind === 'request' ? m.uri : '').user), 'sips:user@example.com');
  const n = parseSipMessage(fixture('escnull'), true);
  t.equal(unescapeUri(parseSipUri(n.to.uri).user), 'null-\u0000-null');
});

t.test('dblreq: a datagram uses Content-Length and ignores the rest', async (t) => {
  const m = parseSipMessage(fixture('dblreq'), true);
  t.equal(m.kind === 'request' && m.method, 'REGISTER');
  t.equal(m.body.length, 0);
  t.ok(m.raw.length < fixture('dblreq').length);
});

t.test('mpart01 and invut: bodies come through byte for byte', async (t) => {
  for (const name of ['mpart01', 'invut']) {
    const raw = fixture(name);
    const m = parseSipMessage(raw, true);
    t.equal(m.body.length, m.contentLength);
    t.same(m.body, raw.subarray(raw.length - m.contentLength), name);
  }
});

t.test('responses: UTF-8 and empty reason phrases', async (t) => {
  const u = parseSipMessage(fixture('unreason'), true);
  t.equal(u.kind === 'response' && u.status, 200);
  t.match(u.kind === 'response' ? u.reason : '', /^= 2\*\*3 \* 5\*\*2 но сто девяносто девять/);
  const n = parseSipMessage(fixture('noreason'), true);
  t.equal(n.kind === 'response' && n.reason, '');
});

t.test('inv2543: RFC 2543 syntax is accepted', async (t) => {
  const m = parseSipMessage(fixture('inv2543'), true);
  t.equal(m.maxForwards, -1);
  t.equal(m.vias[0]!.branch, '');
  t.equal(m.contentLength, -1);
  t.ok(m.body.length > 0);
});

t.test('errors carry the status and what was read', async (t) => {
  try {
    parseSipMessage(fixture('badvers'), true);
    t.fail('accepted');
  } catch (e) {
    t.type(e, SipMessageError);
    t.equal((e as SipMessageError).status, 505);
    t.equal((e as SipMessageError).partial?.isRequest, true);
    t.ok((e as SipMessageError).partial!.headers.length >= 5);
  }
  throwsWith(t, () => parseSipMessage(invite({ cl: 10 }), true), { status: 400, reason: 'Content-Length larger than the message' });
  throwsWith(t, () => parseSipMessage(Buffer.from('INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n'), false), { code: 'VCP_ERR_SIP_INCOMPLETE' });
  throwsWith(t, () => parseSipMessage(Buffer.from('garbage'), true), { code: 'VCP_ERR_SIP_INCOMPLETE' });
  throwsWith(t, () => parseSipMessage(Buffer.from('SIP/2.0 abc OK\r\n\r\n'), true), { code: 'VCP_ERR_SIP_BAD_START_LINE' });
  throwsWith(t, () => parseSipMessage(Buffer.from('SIP/3.0 200 OK\r\n\r\n'), true), { status: 505 });
  throwsWith(t, () => parseSipMessage(Buffer.from(' leading\r\n\r\n'), true), { code: 'VCP_ERR_SIP_BAD_START_LINE' });
  throwsWith(t, () => parseSipMessage(invite({ extra: ['Expires: 99999999999'] }), true), { reason: 'bad Expires' });
  throwsWith(t, () => parseSipMessage(invite({ extra: ['Bad Header: x'] }), true), { reason: 'malformed header line' });
});

t.test('leading CRLFs before a message are skipped', async (t) => {
  const m = parseSipMessage(Buffer.concat([Buffer.from('\r\n\r\n'), invite()]), true);
  t.equal(m.callId, 'c1@192.0.2.1');
});

t.test('stream framing at every split offset, with keep-alives between messages', async (t) => {
  const a = invite({ callId: 'a', body: 'v=0\r\n' });
  const b = invite({ callId: 'b' });
  const stream = Buffer.concat([Buffer.from('\r\n\r\n'), a, Buffer.from('\r\n'), b]);
  for (let cut = 1; cut < stream.length; cut++) {
    const f = new SipStreamFramer(65536);
    const got: string[] = [];
    for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) {
      f.push(part);
      for (let it = f.next(); it; it = f.next()) got.push(it.kind === 'ping' ? 'ping' : parseSipMessage(it.bytes, false).callId);
    }
    const msgs = got.filter((g) => g !== 'ping');
    if (msgs.join() !== 'a,b') {
      t.fail(`split at ${cut}: ${got.join()}`);
      return;
    }
    t.equal(f.pending, 0);
  }
  t.pass('every split offset frames a and b');
});

t.test('framer refuses what is too large or malformed before buffering it all', async (t) => {
  const f = new SipStreamFramer(1024);
  f.push(Buffer.alloc(2048, 0x41));
  throwsWith(t, () => f.next(), { status: 513 });
  const g = new SipStreamFramer(1024);
  g.push(invite({ cl: 5000 }));
  throwsWith(t, () => g.next(), { status: 513 });
  const h = new SipStreamFramer(1024);
  h.push(Buffer.from('INVITE sip:a@b SIP/2.0\r\nl: -3\r\n\r\n'));
  throwsWith(t, () => h.next(), { code: 'VCP_ERR_SIP_CONTENT_LENGTH' });
  const k = new SipStreamFramer(1024);
  k.push(Buffer.from('\r\n'));
  t.equal(k.next(), undefined, 'a single CRLF is a keep-alive, not a ping');
});

t.test('builder: forwarded request and response keep every other byte', async (t) => {
  const req = parseSipMessage(invite({ extra: ['Route: <sip:10.0.0.1;lr>, <sip:10.0.0.2;lr>'], body: 'v=0\r\n' }), true);
  if (req.kind !== 'request') throw new Error('not a request');
  const out = buildForwardedRequest(req, { uri: 'sip:room@10.1.1.1:5090', top: ['Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx'], maxForwards: 69, dropRoutes: 1 });
  const fwd = parseSipMessage(out, true);
  if (fwd.kind !== 'request') throw new Error('not a request');
  t.equal(fwd.uri, 'sip:room@10.1.1.1:5090');
  t.equal(fwd.vias.length, 2);
  t.equal(fwd.vias[0]!.branch, 'z9hG4bKx');
  t.equal(fwd.maxForwards, 69);
  t.equal(findHeader(fwd, H.Route)?.value, '<sip:10.0.0.2;lr>');
  t.equal(fwd.body.toString(), 'v=0\r\n');
  const resText = `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx, SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-abc\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
  const res = parseSipMessage(Buffer.from(resText), true);
  if (res.kind !== 'response') throw new Error('not a response');
  const back = parseSipMessage(buildForwardedResponse(res), true);
  t.equal(back.vias.length, 1);
  t.equal(back.vias[0]!.branch, 'z9hG4bK-abc');
  const r = parseSipMessage(buildResponse(req, 486, 'Busy Here', { toTag: 'tt' }), true);
  t.equal(r.kind === 'response' && r.status, 486);
  t.equal(r.to.tag, 'tt');
  t.equal(r.vias.length, 1);
});

t.test('property: generated requests parse back to their fields', async () => {
  const token = fc.stringMatching(/^[A-Za-z0-9.!%*_+`'~-]{1,20}$/);
  fc.assert(
    fc.property(token, fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: 0, max: 255 }), fc.string({ maxLength: 300 }), (tag, seq, mf, body) => {
      const b = Buffer.from(body);
      const text = `OPTIONS sip:x@192.0.2.9 SIP/2.0\r\nvia: SIP/2.0/TCP 192.0.2.9;branch=z9hG4bK${tag}\r\nf: <sip:a@b>;tag=${tag}\r\nt: sip:x@192.0.2.9\r\ni: ${tag}@h\r\nCSeq: ${seq} OPTIONS\r\nMax-Forwards: ${mf}\r\nl: ${b.length}\r\n\r\n`;
      const m = parseSipMessage(Buffer.concat([Buffer.from(text), b]), false);
      return m.from.tag === tag && m.cseq === seq && m.maxForwards === mf && m.body.equals(b) && m.vias[0]!.branch === `z9hG4bK${tag}`;
    }),
    { numRuns: 2000 },
  );
});

t.test('fuzz: random and mutated bytes give a parse error or a message, nothing else', async (t) => {
  const seeds = ['wsinv', 'intmeth', 'longreq', 'mpart01', 'unreason', 'inv2543', 'badinv01'].map(fixture);
  const check = (bytes: Buffer, datagram: boolean): boolean => {
    try {
      parseSipMessage(bytes, datagram);
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
    }
    const f = new SipStreamFramer(4096);
    f.push(bytes);
    try {
      for (let i = 0; i < 100 && f.next(); i++);
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
    }
    return true;
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (a, d) => check(Buffer.from(a), d)), { numRuns: 3000 });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(), fc.boolean(), (s, flips, cut, d) => {
      const b = Buffer.from(seeds[s]!);
      for (const [pos, v] of flips) b[pos % b.length] = v;
      return check(b.subarray(0, b.length - (cut % 40)), d);
    }),
    { numRuns: 5000 },
  );
  t.pass('no exception other than SipParseError');
});
