import { html, Markup } from './html.js';

/** One way into a meeting on the join page: where it leads and the server it names. */
export interface Way {
  kind: 'web' | 'sip' | 'h323';
  server: string;
  pop: string;
  href: string;
  /** What a person types or reads: the URL, the SIP URI, the H.323 dial string. */
  text: string;
}

export interface JoinView {
  meeting: string;
  ways: Way[];
  /** Client types for which no server is available, with the reason. */
  missing: Array<{ kind: Way['kind']; why: string }>;
}

export interface MeetingView {
  meeting: string;
  server: string;
  pop: string;
}

const TITLES: Record<Way['kind'], { title: string; how: string }> = {
  web: { title: 'In this browser', how: 'Open the meeting in this browser.' },
  sip: { title: 'SIP video system or softphone', how: 'Dial this address (or click it where a SIP client is installed).' },
  h323: { title: 'H.323 room system', how: 'Dial this alias and address from the room system.' },
};

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:44rem;margin:3rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .3rem}
p.sub{color:#5b6475;margin:0 0 1.6rem}
section{background:#fff;border:1px solid #dde1e8;border-radius:.5rem;padding:1rem 1.2rem;margin:0 0 1rem}
h2{font-size:1.05rem;margin:0 0 .4rem}
code{display:block;background:#f0f2f5;border-radius:.3rem;padding:.45rem .6rem;margin:.5rem 0;word-break:break-all;font-size:.92rem}
a.go{display:inline-block;background:#2157d3;color:#fff;text-decoration:none;padding:.5rem 1rem;border-radius:.35rem}
.where{color:#5b6475;font-size:.85rem}
.missing{color:#8a3b12}
`;

const CSS = new Markup(STYLE);

function page(title: string, body: Markup): string {
  return html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${title}</title><style>${CSS}</style></head>
<body><main>${body}</main></body></html>
`.text;
}

function way(w: Way): Markup {
  const t = TITLES[w.kind];
  const link = w.kind === 'web'
    ? html`<a class="go" id="join-web" data-way="web" data-server="${w.server}" data-pop="${w.pop}" href="${w.href}">Join in the browser</a>`
    : html`<code><a id="join-${w.kind}" data-way="${w.kind}" data-server="${w.server}" data-pop="${w.pop}" href="${w.href}">${w.text}</a></code>`;
  return html`<section class="way" data-way="${w.kind}"><h2>${t.title}</h2><p>${t.how}</p>${link}
<p class="where">server ${w.server} in POP ${w.pop}</p></section>
`;
}

/** The join page: one way in per client type, each naming the server chosen for that client type. */
export function joinPage(v: JoinView): string {
  return page(`Join ${v.meeting}`, html`<h1>Join meeting <span id="meeting">${v.meeting}</span></h1>
<p class="sub">Choose how you join. Each way leads straight to the server chosen for it.</p>
${v.ways.map(way)}
${v.missing.map((m) => html`<section class="missing" data-way="${m.kind}"><h2>${TITLES[m.kind].title}</h2><p>${m.why}</p></section>`)}`);
}

/** What a browser sees once it arrived at the POP of its server. */
export function meetingPage(v: MeetingView): string {
  return page(v.meeting, html`<h1>Meeting <span id="meeting">${v.meeting}</span></h1>
<section id="joined" data-server="${v.server}" data-pop="${v.pop}"><p>You are in POP <b>${v.pop}</b>, on server <b>${v.server}</b>.</p></section>`);
}

/** A short redirect body for clients that do not follow the Location header. */
export function movedPage(location: string): string {
  return page('Moved', html`<p>The meeting is at <a href="${location}">${location}</a>.</p>`);
}

export function errorPage(status: number, title: string, message: string, code: string): string {
  return page(title, html`<h1>${title}</h1><section><p>${message}</p><p class="where">${status} · ${code}</p></section>`);
}
