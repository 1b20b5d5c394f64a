/**
 * A message's text in pieces the page shows: plain text, links (http and https only), mentions
 * of the reader (`@name`), and a small markdown subset: code (`` `x` ``, and ```` ```x``` ```` as
 * a block), bold (`**x**`) and italics (`*x*`, `_x_`). Pure: the page turns each piece into a text
 * node inside an element it makes itself (`<a>`, `<mark>`, `<code>`, `<strong>`, `<em>`), never
 * into markup, so nothing in a message can run.
 * @module
 */

/** How a piece of text is emphasised. */
export interface Emphasis {
  readonly bold?: boolean;
  readonly italic?: boolean;
}

/** One piece of a message. */
export type Segment =
  | { readonly kind: "text"; readonly text: string } & Emphasis
  | { readonly kind: "link"; readonly text: string; readonly href: string } & Emphasis
  | { readonly kind: "mention"; readonly text: string } & Emphasis
  /** Code, shown as typed: no links, mentions or emphasis inside. */
  | { readonly kind: "code"; readonly text: string; readonly block: boolean };

/** Code: a block between triple backticks, or a span between single ones. */
const CODE = /```([^`]+?)```|`([^`]+)`/g;
/** Bold, then italics by `*` or `_`; never inside a word (`snake_case`, `a*b*c` stay as typed). */
const EMPHASIS =
  /(?<![\w*])\*\*(?=[^\s*])(.+?)(?<=[^\s*])\*\*(?![\w*])|(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])|(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])/g;

/** A web address in text: scheme, then anything up to a space or a quote. */
const LINK = /\bhttps?:\/\/[^\s<>"'`]+/gi;
/** Trailing punctuation that ends a sentence rather than the address. */
const TRAILING = /[.,;:!?)\]}]+$/;

/** The pieces of `text`: code, emphasis, links and mentions of `me` found. */
export function segments(text: string, me: string): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const match of text.matchAll(CODE)) {
    const start = match.index ?? 0;
    out.push(...linked(text.slice(at, start), me));
    out.push({ kind: "code", text: match[1] ?? match[2], block: match[1] !== undefined });
    at = start + match[0].length;
  }
  out.push(...linked(text.slice(at), me));
  return out.filter((s) => s.text !== "");
}

/** Text outside code: its links, and in the text around them, emphasis and mentions. */
function linked(text: string, me: string): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const match of text.matchAll(LINK)) {
    const start = match.index ?? 0;
    const href = match[0].replace(TRAILING, "");
    if (!isWebAddress(href)) continue;
    out.push(...emphasised(text.slice(at, start), me));
    out.push({ kind: "link", text: href, href });
    at = start + href.length;
  }
  out.push(...emphasised(text.slice(at), me));
  return out;
}

/** Text without code or links: its bold and italic stretches, with mentions found. */
function emphasised(text: string, me: string): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const match of text.matchAll(EMPHASIS)) {
    const start = match.index ?? 0;
    out.push(...mentions(text.slice(at, start), me));
    const style: Emphasis = match[1] !== undefined ? { bold: true } : { italic: true };
    const inner = match[1] ?? match[2] ?? match[3];
    out.push(...mentions(inner, me).map((s) => ({ ...s, ...style })));
    at = start + match[0].length;
  }
  out.push(...mentions(text.slice(at), me));
  return out;
}

/** Whether the reader is mentioned (`@name`, any case). */
export function mentionsMe(text: string, me: string): boolean {
  return me !== "" && mentions(text, me).some((s) => s.kind === "mention");
}

function isWebAddress(href: string): boolean {
  try {
    const url = new URL(href);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

function mentions(text: string, me: string): Segment[] {
  if (me === "" || text === "") return [{ kind: "text", text }];
  const escaped = me.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`(^|[^\\w@])(@${escaped})(?![\\w-])`, "gi");
  const out: Segment[] = [];
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    const start = (match.index ?? 0) + match[1].length;
    out.push({ kind: "text", text: text.slice(at, start) });
    out.push({ kind: "mention", text: match[2] });
    at = start + match[2].length;
  }
  out.push({ kind: "text", text: text.slice(at) });
  return out;
}
