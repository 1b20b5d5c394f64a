/**
 * SEARCH: everything said, posted and attached that the user may read, by words.
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { parseSearch, SearchQueryError } from "../../search/search_query.ts";
import { okWith, type PartialHandlers } from "../context.ts";
import { formatHit, hitView } from "../services/search.ts";

/** Handlers of the search command. */
export const searchHandlers: PartialHandlers<"SEARCH"> = {
  async SEARCH(ctx, { identity }, [text]) {
    if (ctx.search === undefined) {
      throw new ProtocolError(Reply.NOT_FOUND, "Search is off on this server (--no-search)");
    }
    let query;
    try {
      query = parseSearch(text);
    } catch (error) {
      if (error instanceof SearchQueryError) {
        throw new ProtocolError(Reply.INVALID_VALUE, error.message);
      }
      throw error;
    }
    const me = identity.name;
    const { hits, more } = await ctx.search.search(me, query);
    const views = hits.map((hit) => hitView(hit, me));
    const lines = views.map(formatHit);
    const found = hits.length === 0
      ? `Nothing found for ${query.terms.join(" ")}`
      : `${hits.length} result${hits.length === 1 ? "" : "s"}${
        query.page > 1 ? ` (page ${query.page})` : ""
      }`;
    const next = text.replace(/(^|\s)page:\d+/i, "").trim();
    lines.push(more ? `${found}; more: SEARCH ${next} page:${query.page + 1}` : found);
    return okWith(lines, { kind: "search", hits: views, page: query.page, more });
  },
};
