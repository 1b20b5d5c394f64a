/**
 * What went wrong with a local file, in words: the operating system's errors arrive as
 * `Is a directory (os error 21)` or `Permission denied (os error 13): open '…'`.
 * @module
 */

/** Says why `path` could not be read (or written), for a person; `undefined` if not a file error. */
export function describeFileError(
  error: unknown,
  path: string,
  action: "read" | "write" = "read",
): string | undefined {
  const cannot = `Cannot ${action} "${path}"`;
  if (error instanceof Deno.errors.NotFound) return `${cannot}: no such file`;
  if (error instanceof Deno.errors.IsADirectory) return `${cannot}: it is a directory`;
  if (error instanceof Deno.errors.NotADirectory) {
    return `${cannot}: part of the path is not a directory`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `${cannot}: you do not have permission (check its owner and mode)`;
  }
  if (error instanceof Deno.errors.NotCapable) {
    return `${cannot}: the client was not started with access to it`;
  }
  if (error instanceof Deno.errors.AlreadyExists) return `${cannot}: it exists already`;
  if (error instanceof Error && /\(os error \d+\)/.test(error.message)) {
    // Any other system error: its words, without the number and the echo of the call.
    const words = error.message.replace(/\s*\(os error \d+\).*$/s, "").trim();
    return `${cannot}: ${words.charAt(0).toLowerCase()}${words.slice(1)}`;
  }
  return undefined;
}
