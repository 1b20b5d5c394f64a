/**
 * The server process's last resort: an error no code caught (a rejected promise nobody awaited, a
 * throw in a timer) would end the process and take every user's chat down with it. Once the
 * server runs, such an error is logged with its stack and the server carries on; the connection or
 * request it came from has failed, the others have not.
 * @module
 */

import type { Logger } from "./context.ts";

/** What is known of a thrown value: its stack when it has one. */
function describe(value: unknown): string {
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  return String(value);
}

/** Logs uncaught errors instead of exiting; returns the undo (for a clean stop). */
export function keepServing(log: Logger): () => void {
  const onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    log.error(`Unhandled rejection, the server carries on: ${describe(event.reason)}`);
  };
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    log.error(`Uncaught error, the server carries on: ${describe(event.error)}`);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  return () => {
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("error", onError);
  };
}
