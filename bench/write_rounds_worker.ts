/**
 * A worker that runs {@linkcode writeRounds} for the plan it is sent and posts back the result.
 * @module
 */

import { writeRounds, type WriteRoundsPlan } from "./write_rounds.ts";

self.onmessage = async (event: MessageEvent<WriteRoundsPlan>) => {
  self.postMessage(await writeRounds(event.data));
};
