/**
 * The login conversation of the seeds: a user name, then the password until it is right or the
 * server blocks the account; a new name is offered an account. Texts come from the dialect.
 * @module
 */

import type { ChatConnection, ChatReply } from "../client/chat_connection.ts";
import { Reply } from "../protocol/codes.ts";
import { formatRequest } from "../protocol/request.ts";
import type { LoginTexts } from "./dialects.ts";
import type { Palette } from "./render.ts";
import { sanitize } from "./sanitize.ts";
import type { Terminal } from "./terminal.ts";

/** Nothing typed in the login conversation is kept in history (a password may be typed at the wrong prompt). */
const NOT_KEPT = { keepInHistory: () => false } as const;

/** How the login conversation ended. */
export type LoginOutcome =
  | {
    readonly kind: "ok";
    readonly user: string;
    /** The server's welcome text. */
    readonly welcome: string;
    /** The account was created just now. */
    readonly isNew: boolean;
    /** The password that worked (kept in memory to log in again after a lost connection). */
    readonly password: string;
  }
  | { readonly kind: "blocked" }
  /** `ended`: the input ended at a prompt (rather than the flow giving up after saying why). */
  | { readonly kind: "aborted"; readonly ended?: boolean };

const ENDED = { kind: "aborted", ended: true } as const;

/** When a name without an account may become one. */
export type NewAccounts =
  /** Offer it, as the seeds did (after an earlier failure, only once the user confirms). */
  | "offer"
  /** Never: a script's typo must not make an account (`--register` changes this). */
  | "refuse";

/** What the login flow starts from. */
export interface LoginOptions {
  readonly texts: LoginTexts;
  readonly user?: string;
  /** From LABCHAT_PASSWORD: used once, without asking. */
  readonly password?: string;
  readonly newAccounts: NewAccounts;
}

/** Runs the interactive (or piped) login. */
export async function loginFlow(
  term: Terminal,
  chat: ChatConnection,
  colors: Palette,
  options: LoginOptions,
): Promise<LoginOutcome> {
  const texts = options.texts;
  let presetUser = options.user;
  let presetPassword = options.password;
  /** Something went wrong already: the next thing typed may not be what the prompt asked for. */
  let failed = false;
  const fail = (reply: ChatReply) => {
    failed = true;
    term.printError(colors.red(sanitize(reply.text)));
  };
  while (true) {
    const user = presetUser ?? (await term.ask(texts.user, NOT_KEPT))?.trim();
    presetUser = undefined;
    if (user === undefined) return ENDED;
    if (user === "") continue;
    if (/\s/.test(user)) {
      failed = true;
      term.printError(colors.red("A user name has no spaces. Please try again"));
      continue;
    }
    const check = await chat.request(formatRequest("USER", [user]));
    if (check.code === Reply.PASSWORD_REQUIRED) {
      while (true) {
        const fromPreset = presetPassword !== undefined;
        const password = presetPassword ?? await term.ask(texts.password, { mask: true });
        presetPassword = undefined;
        if (password === undefined) return ENDED;
        const reply = await chat.request(formatRequest("LOGIN", [user, password]));
        if (reply.code === Reply.OK) {
          return {
            kind: "ok",
            user: nameIn(reply.text, user),
            welcome: reply.text,
            isNew: false,
            password,
          };
        }
        fail(reply);
        if (reply.code === Reply.ACCOUNT_NOW_BLOCKED || reply.code === Reply.ACCOUNT_BLOCKED) {
          return { kind: "blocked" };
        }
        // A wrong password is asked again; anything else goes back to the user name.
        if (reply.code !== Reply.WRONG_CREDENTIALS) break;
        if (fromPreset) return { kind: "aborted" };
      }
    } else if (check.code === Reply.NEW_USER) {
      if (options.newAccounts === "refuse") {
        term.printError(
          colors.red(`There is no account ${sanitize(user)} (--register creates one)`),
        );
        return { kind: "aborted" };
      }
      if (failed && term.interactive) {
        // After "already logged in elsewhere", a password typed as a name must not become one.
        const answer = await term.ask(`There is no account ${user}. Create it? [y/N] `, NOT_KEPT);
        if (answer === undefined) return ENDED;
        if (!/^y(es)?$/i.test(answer.trim())) continue;
      }
      const password = await newPassword(term, texts, user, presetPassword, colors);
      if (password === undefined) return ENDED;
      presetPassword = undefined;
      const reply = await chat.request(formatRequest("REGISTER", [user, password]));
      if (reply.code === Reply.OK) {
        return {
          kind: "ok",
          user: nameIn(reply.text, user),
          welcome: reply.text,
          isNew: true,
          password,
        };
      }
      fail(reply);
    } else if (check.code === Reply.ACCOUNT_BLOCKED) {
      // The password prompt still comes, so a password typed ahead is not left for the shell.
      if (presetPassword === undefined && term.interactive) {
        await term.ask(texts.password, { mask: true });
      }
      fail(check);
      return { kind: "blocked" };
    } else fail(check);
    // A preset user that failed must not turn scripted commands into user names.
    if (options.user !== undefined && !term.interactive) return { kind: "aborted" };
  }
}

/**
 * A new account's password: asked (and, where the dialect does, asked again until both match);
 * `undefined` when the input ends.
 */
async function newPassword(
  term: Terminal,
  texts: LoginTexts,
  user: string,
  preset: string | undefined,
  colors: Palette,
): Promise<string | undefined> {
  if (preset !== undefined) return preset;
  while (true) {
    const password = await term.ask(texts.newPassword(user), { mask: true });
    if (password === undefined || texts.confirm === undefined) return password;
    const again = await term.ask(texts.confirm, { mask: true });
    if (again === undefined) return undefined;
    if (again === password) return password;
    term.printError(colors.red("Passwords do not match. Please try again"));
  }
}

/** The account's own spelling, from `Welcome to labchat, yoda!`, or what was typed. */
function nameIn(welcome: string, typed: string): string {
  return /^Welcome to labchat, (\S+?)!/.exec(welcome)?.[1] ?? typed;
}
