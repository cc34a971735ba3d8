import t from 'tap';
import fc from 'fast-check';
import { parsePrefix } from '../../../shared/net/prefix.js';
import type { ClassProfile, Counter, LearningPolicy } from '../../../layer2/decide/types.js';
import { classChain } from '../../../layer2/identify.js';
import { identifyBrowser } from '../../../layer2/web/browser.js';
import { clientAddress } from '../../../layer2/web/client-address.js';
import { esc, html } from '../../../layer2/web/html.js';
import { Meetings, validMeetingName } from '../../../layer2/web/meetings.js';
import { errorPage, joinPage, meetingPage } from '../../../layer2/web/pages.js';
import { chooseWebTechnique } from '../../../layer2/web/technique.js';

t.test('esc and html escape every character that can end a text run or an attribute', async (t) => {
  t.equal(esc('a<b>&"\'`='), 'a&lt;b&gt;&amp;&quot;&#39;&#96;&#61;');
  t.equal(esc('plain text'), 'plain text');
  const evil = '"><script>alert(1)</script>';
  const out = html`<a title="${evil}">${evil}</a>`.text;
  t.notMatch(out, /<script>/);
  t.equal(out, '<a title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</a>');
  t.equal(html`<p>${html`<b>${'<i>'}</b>`}</p>`.text, '<p><b>&lt;i&gt;</b></p>', 'markup made by html is kept, values inside it escaped');
  t.equal(html`${['a', '<', 1, undefined, false, null]}`.text, 'a&lt;1', 'lists flattened, absent values empty');
  fc.assert(
    fc.property(fc.string(), (s) => {
      const e = esc(s);
      return !/[<>"'`]/.test(e) && !/&(?!(amp|lt|gt|quot|#39|#96|#61);)/.test(e);
    }),
    { numRuns: 2000 },
  );
});

t.test('pages: a meeting name with markup is shown as text, links as given', async (t) => {
  const meeting = 'x"><img src=x onerror=alert(1)>';
  const page = joinPage({
    meeting,
    ways: [{ kind: 'sip', server: 'ams-1', pop: 'ams', href: 'sip:a@b;vcp-token=1', text: 'sip:a@b;vcp-token=1' }],
    missing: [{ kind: 'h323', why: 'No server <now>' }],
  });
  t.notMatch(page, /<img/);
  t.match(page, /x&quot;&gt;&lt;img src&#61;x onerror&#61;alert\(1\)&gt;/);
  t.match(page, /id="join-sip" data-way="sip" data-server="ams-1" data-pop="ams" href="sip:a@b;vcp-token&#61;1"/);
  t.match(page, /No server &lt;now&gt;/);
  t.match(meetingPage({ meeting: '<i>', server: 's', pop: 'p' }), /<span id="meeting">&lt;i&gt;<\/span>/);
  t.match(errorPage(404, 'Not found', 'no <meeting>', 'VCP_ERR_WEB_UNKNOWN_MEETING'), /404 · VCP_ERR_WEB_UNKNOWN_MEETING/);
});

t.test('browsers: family, platform and major version from the User-Agent', async (t) => {
  const cases: Array<[string | undefined, string]> = [
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Safari/537.36', 'web/chrome/windows/120'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.61', 'web/edge/windows/120'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15', 'web/safari/macos/17'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1', 'web/safari/ios/17'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/119.0.6045.169 Mobile/15E148 Safari/604.1', 'web/chrome/ios/119'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 'web/firefox/linux/121'],
    ['Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36', 'web/samsung/android/23'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0', 'web/opera/linux/106'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36', 'web/chrome/linux/156'],
    ['curl/8.1.2', 'web'],
    [undefined, 'web'],
    ['Chrome/' + '9'.repeat(5000), 'web/chrome'],
  ];
  for (const [ua, key] of cases) t.equal(classChain(identifyBrowser(ua))[0]!.key, key, String(ua).slice(0, 60));
  t.same(classChain(identifyBrowser(cases[3]![0])).map((c) => c.key), ['web/safari/ios/17', 'web/safari/ios', 'web/safari', 'web', 'default']);
});

t.test('client address: X-Forwarded-For only through trusted proxies, read from the right', async (t) => {
  const proxies = ['10.0.0.0/8', '2001:db8::/32'].map((p) => parsePrefix(p)!);
  const cases: Array<[string, string | string[] | undefined, string, string]> = [
    ['198.51.100.7', undefined, '198.51.100.7', 'no header: the peer'],
    ['198.51.100.7', '203.0.113.9', '198.51.100.7', 'an untrusted peer cannot claim another address'],
    ['10.1.1.1', '203.0.113.9', '203.0.113.9', 'a trusted proxy names the client'],
    ['10.1.1.1', '192.0.2.66, 203.0.113.9', '203.0.113.9', 'entries left of the client are its own word'],
    ['10.1.1.1', '203.0.113.9, 10.2.2.2', '203.0.113.9', 'a chain of trusted proxies is walked'],
    ['10.1.1.1', ['203.0.113.9', '10.2.2.2'], '203.0.113.9', 'repeated headers are one list'],
    ['10.1.1.1', 'garbage, 203.0.113.9', '203.0.113.9', 'a malformed entry stops the walk'],
    ['10.1.1.1', '203.0.113.9, garbage', '10.1.1.1', 'a malformed last entry: the proxy itself'],
    ['::ffff:10.1.1.1', '::ffff:203.0.113.9', '203.0.113.9', 'IPv4-mapped forms are plain'],
    ['2001:db8::1', '2001:db8::2, 2a00::5', '2a00::5', 'IPv6'],
  ];
  for (const [peer, xff, want, why] of cases) t.equal(clientAddress(peer, xff, proxies), want, why);
  t.equal(clientAddress('10.1.1.1', '203.0.113.9', []), '10.1.1.1', 'no trusted proxies configured: the peer');
});

t.test('meetings: exact names, then the longest prefix; names no meeting can have', async (t) => {
  const m = new Meetings([{ name: 'board', customer: 'acme' }, { name: 'acme-*', customer: 'acme' }, { name: 'acme-eu-*', customer: 'eu' }, { name: '*', customer: '' }]);
  t.same(m.find('board'), { name: 'board', customer: 'acme' });
  t.same(m.find('acme-1'), { name: 'acme-1', customer: 'acme' });
  t.same(m.find('acme-eu-1'), { name: 'acme-eu-1', customer: 'eu' });
  t.same(m.find('other'), { name: 'other', customer: '' });
  t.equal(new Meetings([{ name: 'board', customer: '' }]).find('boardx'), undefined);
  for (const bad of ['', 'a b', 'a/b', 'a?b', 'a#b', '50%', 'a\\b', 'x'.repeat(129), 'tab\there']) t.notOk(validMeetingName(bad), JSON.stringify(bad));
  t.equal(m.find('a/b'), undefined);
  t.ok(validMeetingName('Réunion+1'));
});

const P: LearningPolicy = { breakAfter: 2, minSources: 2, provenAfter: 2, provenRatio: 0.8, rttToleranceMs: 10, probationLimit: 1 };
const counter = (s: number, f: number): Counter => ({ a: s + f, s, f, l: 0, n: 0, ts: 0, tf: 0 });
const prof = (key: string, http?: [number, number], override?: 'http' | 'uri' | 'proxy'): ClassProfile => ({
  key,
  t: http ? { http: counter(http[0], http[1]) } : {},
  fs: http ? { http: ['a', 'b', 'c'].slice(0, Math.min(3, http[1])) } : {},
  ...(override ? { override: { technique: override, at: 1, by: 'admin' } } : {}),
  ovAt: 0,
  resetAt: 0,
});

t.test('web technique: override > configured (vetoed by a breaking record) > broken → uri > http', async (t) => {
  const chain = classChain({ protocol: 'web', vendor: 'safari', product: 'ios', version: '17' });
  const none = chain.map(() => undefined);
  const at = (i: number, p: ClassProfile): Array<ClassProfile | undefined> => chain.map((c, j) => (j === i ? { ...p, key: c.key } : undefined));
  const cases: Array<[string, Array<ClassProfile | undefined>, Record<string, 'http' | 'uri'>, 'http' | 'uri', RegExp]> = [
    ['nothing known', none, {}, 'http', /browsers follow HTTP redirects/],
    ['proven', at(1, prof('', [5, 0])), {}, 'http', /proven for web\/safari\/ios/],
    ['broken at the product level', at(1, prof('', [0, 3])), {}, 'uri', /web\/safari\/ios breaks on HTTP redirects \(0 ok \/ 3 failed\)/],
    ['one failing caller does not break it', at(1, { ...prof('', [0, 3]), fs: { http: ['a'] } }), {}, 'http', /follow/],
    ['configured uri', none, { 'web/safari': 'uri' }, 'uri', /configured for web\/safari/],
    ['configured http, broken below it', at(1, prof('', [0, 3])), { 'web/safari': 'http' }, 'uri', /configured http for web\/safari, but web\/safari\/ios breaks/],
    ['configured http at the version, broken only at the vendor', at(2, prof('', [0, 3])), { 'web/safari/ios/17': 'http' }, 'http', /configured for web\/safari\/ios\/17/],
    ['admin override uri', at(3, prof('', undefined, 'uri')), {}, 'uri', /admin override on web by admin/],
    ['admin override http beats a breaking record', chain.map((c, i) => (i === 0 ? prof(c.key, [0, 3], 'http') : undefined)), {}, 'http', /admin override/],
    ['a signalling override does not apply', at(0, prof('', undefined, 'proxy')), {}, 'http', /follow/],
  ];
  for (const [why, profiles, configured, want, reason] of cases) {
    const c = chooseWebTechnique(chain, profiles, configured, P);
    t.equal(c.technique, want, why);
    t.match(c.reason, reason, why);
  }
});
