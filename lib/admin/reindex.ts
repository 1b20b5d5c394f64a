/**
 * `deno task admin reindex`: the search index rebuilt from the store, while no server runs.
 * @module
 */

import { foldName } from "../protocol/names.ts";
import { SearchIndex } from "../search/search_index.ts";
import { ChannelService } from "../server/services/channels.ts";
import { RoomService } from "../server/services/rooms.ts";
import { searchIndexPath, SearchService } from "../server/services/search.ts";
import type { Store } from "../store/store.ts";

/**
 * Deletes the data directory's search index and builds it again from `store`; returns how many
 * entries it holds.
 */
export async function rebuildSearchIndex(store: Store, dataDir: string): Promise<number> {
  const path = searchIndexPath(dataDir);
  for (const suffix of ["", "-wal", "-shm"]) {
    await Deno.remove(path + suffix).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
  const index = new SearchIndex(path, foldName);
  const quiet = { info() {}, warn() {}, error() {} };
  const search = new SearchService(
    index,
    store,
    await RoomService.open(store),
    new ChannelService(store),
    quiet,
  );
  try {
    await search.sync();
    return index.size;
  } finally {
    await search.close();
  }
}
