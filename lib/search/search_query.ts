/**
 * What a person types after SEARCH, read into words, phrases and filters. Pure: any text gives a
 * query or a {@linkcode SearchQueryError} in words, and the full-text expression built from it is
 * always well formed (every term is quoted), so no input reaches the index as syntax.
 *
 * - `iperf 941`: both words; `ipe*`: a word starting so; `"941 Mbit"`: the words in a row.
 * - `in:b` broadcasts, `in:p` private messages, `in:s` rooms, `in:3` room 3, `in:#networks`,
 *   `in:hans` private messages with hans, `in:forum` posts and files.
 * - `from:hans`; `after:` and `before:` a time as HISTORY takes it (`2022-08-03`,
 *   `"03 Aug 2022 23:25:03"`); `page:2` the next results.
 * @module
 */

import { parseTimestamp } from "../protocol/timestamp.ts";

/** Where to look. */
export type SearchScope =
  | { readonly kind: "broadcasts" }
  | { readonly kind: "private"; readonly with?: string }
  | { readonly kind: "rooms"; readonly room?: number }
  | { readonly kind: "channel"; readonly channel: string }
  | { readonly kind: "forum" };

/** A search, read. */
export interface SearchQuery {
  /** The full-text expression for the index: quoted terms, all of which must match. */
  readonly match: string;
  /** The terms as the person gave them, for the summary. */
  readonly terms: readonly string[];
  readonly scope?: SearchScope;
  readonly from?: string;
  /** Epoch ms bounds: after (exclusive) and before (exclusive). */
  readonly after?: number;
  readonly before?: number;
  /** 1, 2, …: which page of results. */
  readonly page: number;
}

/** Why a search cannot be run, in words (never the index's syntax). */
export class SearchQueryError extends Error {
  readonly code = "bad_search";
  constructor(message: string) {
    super(message);
    this.name = "SearchQueryError";
  }
}

/** The longest search text taken, in characters. */
export const MAX_SEARCH_LENGTH = 500;
/** The most words and phrases in one search. */
const MAX_TERMS = 16;
/** The highest page asked for. */
const MAX_PAGE = 1000;

/** Letters or digits: what the index keeps of a term (punctuation alone matches nothing). */
const WORDLIKE = /[\p{L}\p{N}]/u;

/**
 * Splits the text into pieces: a quoted part stays whole, with what stood right before its
 * opening quote (`before:"03 Aug 2022"` is one piece); a phrase quoted whole is never a filter.
 */
function pieces(text: string): { text: string; quoted: boolean; filter: boolean }[] {
  const out: { text: string; quoted: boolean; filter: boolean }[] = [];
  for (const m of text.matchAll(/(\S*?)"([^"]*)"?|(\S+)/gu)) {
    if (m[3] !== undefined) out.push({ text: m[3], quoted: false, filter: true });
    else out.push({ text: `${m[1]}${m[2]}`, quoted: m[1] === "", filter: m[1] !== "" });
  }
  return out;
}

/** A term quoted for FTS5: inner quotes doubled; `*` after it for a prefix. */
function quoteTerm(term: string, prefix: boolean): string {
  return `"${term.replaceAll('"', '""')}"${prefix ? "*" : ""}`;
}

function readScope(value: string): SearchScope {
  const lower = value.toLowerCase();
  if (lower === "b") return { kind: "broadcasts" };
  if (lower === "p") return { kind: "private" };
  if (lower === "s") return { kind: "rooms" };
  if (lower === "forum") return { kind: "forum" };
  if (/^\d{1,9}$/.test(value)) return { kind: "rooms", room: Number(value) };
  if (value.startsWith("#") && value.length > 1) return { kind: "channel", channel: value };
  if (/^[^\s:"]{1,32}$/.test(value)) return { kind: "private", with: value };
  throw new SearchQueryError(
    `Cannot search in "${
      value.slice(0, 40)
    }": use in:b, in:p, in:s, in:ROOM, in:#channel, in:USER or in:forum`,
  );
}

function readTime(name: string, value: string): number {
  const time = parseTimestamp(value);
  if (time === undefined) {
    throw new SearchQueryError(
      `Cannot read the time of ${name}:"${
        value.slice(0, 40)
      }": use 2022-08-03, or "03 Aug 2022 23:25:03"`,
    );
  }
  return time;
}

/**
 * Reads a search. Every term is quoted in {@linkcode SearchQuery.match}, so the index never sees
 * operators or syntax from the person.
 *
 * @throws {SearchQueryError} for an empty search, a filter it cannot read, or too much
 */
export function parseSearch(text: string): SearchQuery {
  if (text.length > MAX_SEARCH_LENGTH) {
    throw new SearchQueryError(`A search is at most ${MAX_SEARCH_LENGTH} characters`);
  }
  const terms: string[] = [];
  const parts: string[] = [];
  let scope: SearchScope | undefined;
  let from: string | undefined;
  let after: number | undefined;
  let before: number | undefined;
  let page = 1;
  for (const piece of pieces(text)) {
    const filter = piece.filter ? /^(in|from|after|before|page):(.*)$/is.exec(piece.text) : null;
    if (filter) {
      const [, name, value] = filter;
      if (value === "") throw new SearchQueryError(`${name}: needs a value, as in ${name}:…`);
      switch (name.toLowerCase()) {
        case "in":
          scope = readScope(value);
          break;
        case "from":
          if (!/^[^\s:"]{1,32}$/.test(value)) {
            throw new SearchQueryError(
              `Cannot read from:"${value.slice(0, 40)}": give a user name`,
            );
          }
          from = value;
          break;
        case "after":
          after = readTime("after", value);
          break;
        case "before":
          before = readTime("before", value);
          break;
        case "page":
          if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > MAX_PAGE) {
            throw new SearchQueryError(`page: is a number from 1 to ${MAX_PAGE}`);
          }
          page = Number(value);
          break;
      }
      continue;
    }
    const prefix = !piece.quoted && piece.text.endsWith("*");
    const term = (prefix ? piece.text.replace(/\*+$/, "") : piece.text).trim();
    if (!WORDLIKE.test(term)) continue; // punctuation alone: nothing the index could match
    terms.push(piece.quoted ? `"${term}"` : piece.text);
    parts.push(quoteTerm(term, prefix));
  }
  if (parts.length === 0) {
    throw new SearchQueryError(
      'Give words to search for, as in: SEARCH iperf 941, SEARCH "packet loss" in:#networks',
    );
  }
  if (parts.length > MAX_TERMS) {
    throw new SearchQueryError(`A search has at most ${MAX_TERMS} words and phrases`);
  }
  if (after !== undefined && before !== undefined && after >= before) {
    throw new SearchQueryError("after: must come before before:");
  }
  return { match: parts.join(" "), terms, scope, from, after, before, page };
}
