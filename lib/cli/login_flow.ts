/**
 * The login conversation of the seeds: Username, then Password until it is right or the server
 * blocks the account; a new name is offered registration with the password typed twice.
 * @module
 */

import type { ChatConnection, ChatReply } from "../client/chat_connection.ts";
import { Reply } from "../protocol/codes.ts";
import type { Palette } from "./render.ts";
import { sanitize } from "./sanitize.ts";
import type { Terminal } from "./terminal.ts";

/** How the login conversation ended. */
export type LoginOutcome =
  | { readonly kind: "ok"; readonly user: string; readonly welcome: string }
  | { readonly kind: "blocked" }
  | { readonly kind: "aborted" };

/** Where the login flow gets a preset user and password from. */
export interface LoginPresets {
  readonly user?: string;
  /** From LABCHAT_PASSWORD: used once, without asking. */
  readonly password?: string;
}

/** Runs the interactive (or piped) login. */
export async function loginFlow(
  term: Terminal,
  chat: ChatConnection,
  colors: Palette,
  presets: LoginPresets = {},
): Promise<LoginOutcome> {
  let presetUser = presets.user;
  let presetPassword = presets.password;
  const fail = (reply: ChatReply) => term.printError(colors.red(sanitize(reply.text)));
  while (true) {
    const user = presetUser ?? (await term.ask("Username: "))?.trim();
    presetUser = undefined;
    if (user === undefined) return { kind: "aborted" };
    if (user === "") continue;
    const check = await chat.request(`USER ${user}`);
    if (check.code === Reply.PASSWORD_REQUIRED) {
      while (true) {
        const fromPreset = presetPassword !== undefined;
        const password = presetPassword ?? await term.ask("Password: ", { mask: true });
        presetPassword = undefined;
        if (password === undefined) return { kind: "aborted" };
        const reply = await chat.request(`LOGIN ${user} ${password}`);
        if (reply.code === Reply.OK) return { kind: "ok", user, welcome: reply.text };
        fail(reply);
        if (reply.code === Reply.ACCOUNT_NOW_BLOCKED || reply.code === Reply.ACCOUNT_BLOCKED) {
          return { kind: "blocked" };
        }
        // A wrong password is asked again; anything else goes back to the user name.
        if (reply.code !== Reply.WRONG_CREDENTIALS) break;
        if (fromPreset) return { kind: "aborted" };
      }
    } else if (check.code === Reply.NEW_USER) {
      const password = presetPassword ??
        await term.ask(`Enter new password for ${user}: `, { mask: true });
      if (password === undefined) return { kind: "aborted" };
      const again = presetPassword ?? await term.ask("Confirm the password: ", { mask: true });
      presetPassword = undefined;
      if (again === undefined) return { kind: "aborted" };
      if (again !== password) {
        term.printError(colors.red("Passwords do not match. Please try again"));
        continue;
      }
      const reply = await chat.request(`REGISTER ${user} ${password}`);
      if (reply.code === Reply.OK) return { kind: "ok", user, welcome: reply.text };
      fail(reply);
    } else {
      fail(check);
      if (check.code === Reply.ACCOUNT_BLOCKED) return { kind: "blocked" };
    }
    // A preset user that failed must not turn scripted commands into user names.
    if (presets.user !== undefined && !term.interactive) return { kind: "aborted" };
  }
}
