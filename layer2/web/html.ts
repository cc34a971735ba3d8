/**
 * HTML escaping for the pages the web listener writes. Every value that reaches a page goes through
 * `esc` (text and quoted attribute values alike); `html` is a tagged template that escapes each
 * interpolation unless it is already markup made by `html` itself.
 */
const SPECIAL = /[&<>"'`=]/;
const SPECIAL_G = /[&<>"'`=]/g;
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;', '=': '&#61;' };

export function esc(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIAL_G, (c) => ENTITY[c]!) : s;
}

/** Markup that is already safe: made by `html`, or a constant of ours. */
export class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type Piece = Markup | string | number | undefined | null | false | readonly Piece[];

function emit(p: Piece): string {
  if (p === undefined || p === null || p === false) return '';
  if (p instanceof Markup) return p.text;
  if (Array.isArray(p)) return (p as readonly Piece[]).map(emit).join('');
  return esc(String(p));
}

export function html(parts: TemplateStringsArray, ...values: Piece[]): Markup {
  let out = parts[0]!;
  for (let i = 0; i < values.length; i++) out += emit(values[i]!) + parts[i + 1]!;
  return new Markup(out);
}
