/**
 * A program in a real terminal, driven through tmux: what a person types and sees.
 * @module
 */

async function tmux(socket: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", {
    args: ["-L", socket, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** A terminal running one program. */
export interface TmuxTerminal {
  /** What the screen shows now. */
  screen(): Promise<string>;
  /** Sends keys by tmux name (`Enter`, `C-c`, `Up`). */
  keys(...keys: string[]): Promise<string>;
  /** Types text literally (no key names). */
  type(text: string): Promise<string>;
  /** Waits until the screen passes `check`; throws with the last screen after `timeoutMs`. */
  waitFor(check: (screen: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** Appends everything the program writes to the terminal to `file`. */
  record(file: string): Promise<string>;
  close(): Promise<string>;
}

/** Runs `command` (a shell command line) in a `width`×`height` terminal, in `cwd`. */
export async function openTmux(
  command: string,
  cwd: string,
  width = 100,
  height = 30,
): Promise<TmuxTerminal> {
  const socket = `labchat-test-${crypto.randomUUID().slice(0, 8)}`;
  await tmux(
    socket,
    "new-session",
    "-d",
    "-s",
    "t",
    "-x",
    String(width),
    "-y",
    String(height),
    "-c",
    cwd,
    command,
  );
  const screen = () => tmux(socket, "capture-pane", "-p", "-t", "t");
  return {
    screen,
    keys: (...keys: string[]) => tmux(socket, "send-keys", "-t", "t", ...keys),
    type: (text: string) => tmux(socket, "send-keys", "-t", "t", "-l", text),
    async waitFor(check, what, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      let last = "";
      while (Date.now() < until) {
        last = await screen();
        if (check(last)) return last;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`Screen never showed ${what}:\n${last}`);
    },
    record: (file: string) => tmux(socket, "pipe-pane", "-o", "-t", "t", `cat >> ${file}`),
    close: () => tmux(socket, "kill-server").catch(() => ""),
  };
}

/** Whether tmux is installed. */
export async function hasTmux(): Promise<boolean> {
  try {
    return (await new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}
