/**
 * A message's text in pieces the page shows: plain text, links (http and https only) and
 * mentions of the reader (`@name`). Pure: the page turns each piece into a text node, an `<a>` or
 * a `<mark>`, never into markup, so nothing in a message can run.
 * @module
 */

/** One piece of a message. */
export type Segment =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "link"; readonly text: string; readonly href: string }
  | { readonly kind: "mention"; readonly text: string };

/** A web address in text: scheme, then anything up to a space or a quote. */
const LINK = /\bhttps?:\/\/[^\s<>"'`]+/gi;
/** Trailing punctuation that ends a sentence rather than the address. */
const TRAILING = /[.,;:!?)\]}]+$/;

/** The pieces of `text`, with links and mentions of `me` found. */
export function segments(text: string, me: string): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const match of text.matchAll(LINK)) {
    const start = match.index ?? 0;
    const href = match[0].replace(TRAILING, "");
    if (!isWebAddress(href)) continue;
    out.push(...mentions(text.slice(at, start), me));
    out.push({ kind: "link", text: href, href });
    at = start + href.length;
  }
  out.push(...mentions(text.slice(at), me));
  return out.filter((s) => s.text !== "");
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
