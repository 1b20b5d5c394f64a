/**
 * Waiting for something, but not for ever.
 * @module
 */

/** Resolves once `done` settles or `ms` have passed, whichever is first; never rejects. */
export async function within(done: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const elapsed = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  await Promise.race([done.catch(() => {}), elapsed]);
  clearTimeout(timer);
}
