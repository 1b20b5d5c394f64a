/**
 * Rules for names of forum threads and of files: they are shown to users and never used as paths
 * on the server; a client saving a file derives a safe local name from them.
 * @module
 */

const THREAD_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
// deno-lint-ignore no-control-regex -- control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const MAX_FILE_NAME = 255;

/** Why a thread name is not acceptable, or `undefined`. */
export function threadNameProblem(name: string): string | undefined {
  if (!THREAD_NAME.test(name)) {
    return `Cannot use "${
      name.slice(0, 64)
    }" as a thread name: use up to 64 letters, digits, "_", "." and "-"`;
  }
  return undefined;
}

/** Why a file name is not acceptable, or `undefined`: no paths, no control characters. */
export function fileNameProblem(name: string): string | undefined {
  const shown = name.replace(CONTROL, "?").slice(0, 64);
  if (name === "" || name.length > MAX_FILE_NAME) {
    return `File name must be 1 to ${MAX_FILE_NAME} characters`;
  }
  if (name === "." || name === ".." || /[/\\]/.test(name) || CONTROL.test(name)) {
    return `Cannot use "${shown}" as a file name: no paths, "." or "..", or control characters`;
  }
  return undefined;
}

/**
 * A name safe to create in a local directory for a received file: the last path component,
 * control characters and reserved characters replaced, never `.`/`..` or empty.
 */
export function safeLocalName(name: string): string {
  const base = name.split(/[/\\]/).filter((p) => p !== "").at(-1) ?? "";
  if (/^\.*$/.test(base)) return "download";
  const cleaned = [...base]
    .map((c) => CONTROL.test(c) || /[<>:"|?*]/.test(c) ? "_" : c)
    .join("")
    .replace(/^\.+/, (dots) => "_".repeat(dots.length))
    .slice(0, MAX_FILE_NAME);
  return cleaned === "" ? "download" : cleaned;
}
