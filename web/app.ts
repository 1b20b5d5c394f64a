/// <reference lib="dom" />
/**
 * The web client: login, conversations (everyone, private chats, rooms), who is online, the
 * forum, notices, and reconnecting when the server comes back. It speaks the line protocol over
 * the WebSocket through the same `ChatConnection` the terminal client uses.
 * @module
 */

import { ChatConnection, type ChatReply } from "../lib/client/chat_connection.ts";
import { WebSocketTransport } from "../lib/client/websocket_transport.ts";
import type { ChatEvent } from "../lib/protocol/events.ts";
import type { ReplyData, SearchHitView, ThreadEntryView } from "../lib/protocol/reply_data.ts";
import { formatRequest } from "../lib/protocol/request.ts";
import { formatBytes, formatTimestamp } from "../lib/protocol/timestamp.ts";
import { DEFAULT_SERVER_CONFIG } from "../lib/config.ts";
import { answerText, downloadFile, signIn, signOut, uploadFile } from "./api.ts";
import { append, button, h, replace, syncChildren } from "./dom.ts";
import { BROADCAST_ID, ChatModel, type Conversation, snippetParts } from "./model.ts";
import { mentionsMe, type Segment, segments } from "./rich_text.ts";

/** Messages a conversation shows at most; older ones stay in memory (search opens them). */
const MAX_SHOWN = 1000;
/** The longest request line the server takes, in bytes (its `--max-line-bytes` default). */
const MAX_LINE_BYTES = DEFAULT_SERVER_CONFIG.maxLineBytes;

/** Waits before reconnecting, in seconds, after each failed try. */
const BACKOFF_S = [1, 2, 4, 8, 15, 30];

type View =
  | { kind: "conversation"; id: string }
  | { kind: "forum" }
  | { kind: "thread"; name: string }
  | { kind: "search"; query: string };

/** The whole page. */
export class WebApp {
  readonly #root: HTMLElement;
  readonly #model = new ChatModel();
  #chat: ChatConnection | undefined;
  #view: View = { kind: "conversation", id: BROADCAST_ID };
  /** Set when the user logs out or the server says the session is over: do not reconnect. */
  #stopped = false;
  #retry = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The server's idle timeout (0: none), and when the page last said the person is here. */
  #idleMs = 0;
  #toldActiveAt = 0;
  readonly #notice = h("div", { id: "notice", role: "status", "aria-live": "polite" });
  readonly #nav = h("nav", { id: "sidebar", "aria-label": "Conversations and people" });
  readonly #layout = h("div", { class: "layout" });
  /** On a phone the sidebar is a drawer; this opens and closes it. */
  readonly #drawerToggle = button("Conversations", () => this.#setDrawer(!this.#drawerOpen), {
    class: "drawer-toggle",
    "aria-controls": "sidebar",
    "aria-expanded": "false",
  });
  #drawerOpen = false;

  #setDrawer(open: boolean): void {
    this.#drawerOpen = open;
    this.#layout.classList.toggle("drawer-open", open);
    this.#drawerToggle.setAttribute("aria-expanded", String(open));
  }
  readonly #main = h("main", { id: "view", tabindex: "-1" });
  readonly #conversationList = h("ul", {
    class: "conversations",
    "aria-labelledby": "conversations-title",
  });
  readonly #conversationItems = new Map<
    string,
    { li: HTMLLIElement; open: HTMLButtonElement; badge: HTMLSpanElement }
  >();
  readonly #onlineList = h("ul", { class: "online", "aria-label": "Users online" });
  readonly #nobodyOnline = h("li", { class: "muted" }, "Nobody else is online");
  readonly #userItems = new Map<string, { li: HTMLLIElement; blocked: boolean }>();
  readonly #blockedSection = h("div", {});
  readonly #forumButton = button("Threads", () => void this.#open({ kind: "forum" }));

  constructor(root: HTMLElement) {
    this.#root = root;
    // The person using the page (not messages arriving) is what keeps an idle timeout away.
    const active = () => this.#noteActivity();
    for (const type of ["keydown", "pointerdown", "wheel", "scroll", "focus"]) {
      addEventListener(type, active, { capture: true, passive: true });
    }
    // Looked at again: the tab's title drops the mark of what came meanwhile.
    const seen = () => {
      if (this.#chat && this.#notice.isConnected) this.#renderNav();
    };
    addEventListener("focus", seen);
    document.addEventListener("visibilitychange", seen);
  }

  /** Tells the server the person is here, often enough for its idle timeout (if it has one). */
  #noteActivity(): void {
    const chat = this.#chat;
    if (!chat || this.#idleMs <= 0 || document.visibilityState === "hidden") return;
    const now = Date.now();
    if (now - this.#toldActiveAt < this.#idleMs / 4) return;
    this.#toldActiveAt = now;
    chat.request("ACTIVE").catch(() => {});
  }

  /** Starts: resume a web session if the browser has one, else show the login. */
  async start(): Promise<void> {
    const outcome = await this.#connect();
    if (outcome !== "connected") this.#showLogin();
  }

  /**
   * Shows a problem the page ran into where the user looks (the notice line, or the login
   * form's error), not only in the console.
   */
  showProblem(text: string): void {
    if (this.#notice.isConnected) {
      this.#say(text, "error");
      return;
    }
    const loginError = document.getElementById("login-error");
    if (loginError) loginError.textContent = text;
    else this.#root.prepend(h("p", { role: "alert", class: "error" }, text));
  }

  // ---- connection ----

  /**
   * Opens the WebSocket and resumes the browser's session. `unreachable` schedules another try;
   * otherwise the server's reason why there is no session to resume.
   */
  async #connect(
    waitOutReload = true,
  ): Promise<"connected" | "unreachable" | { refused: string }> {
    for (let attempt = 0;; attempt++) {
      let chat: ChatConnection;
      try {
        const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
        chat = new ChatConnection(await WebSocketTransport.open(url, { json: true }));
      } catch {
        this.#scheduleReconnect();
        return "unreachable";
      }
      const reply = await chat.request("SESSION").catch(() => undefined);
      if (reply?.ok) {
        this.#started(chat, dataOf(reply, "welcome")?.user ?? "");
        await this.#loadState();
        return "connected";
      }
      await chat.close();
      if (!reply) {
        this.#scheduleReconnect();
        return "unreachable";
      }
      // A page reloaded a moment ago may still be logged in until the server sees it close.
      if (reply.code !== 409 || attempt >= 2 || !waitOutReload) return { refused: reply.text };
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  #started(chat: ChatConnection, me: string): void {
    this.#chat = chat;
    void chat.request("ACTIVE").then(
      (reply) => this.#idleMs = dataOf(reply, "idle_timeout")?.ms ?? 0,
      () => {},
    );
    this.#retry = 0;
    this.#stopped = false;
    this.#model.reset(me);
    this.#showChat();
    void this.#pump(chat);
  }

  async #pump(chat: ChatConnection): Promise<void> {
    for await (const event of chat.events()) this.#onEvent(event, chat.timeOf(event) ?? Date.now());
    if (this.#chat === chat) {
      this.#chat = undefined;
      if (!this.#stopped) this.#scheduleReconnect();
    }
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return; // on the login page: the user tries again
    const seconds = BACKOFF_S[Math.min(this.#retry, BACKOFF_S.length - 1)];
    this.#retry++;
    this.#say(`Connection to the server lost. Reconnecting in ${seconds} s…`, "warning");
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(async () => {
      if (this.#stopped) return;
      const outcome = await this.#connect();
      if (outcome === "connected") this.#say("Connected again.", "info");
      else if (outcome !== "unreachable") this.#showLogin(outcome.refused);
    }, seconds * 1000);
  }

  async #request(line: string): Promise<ChatReply | undefined> {
    const chat = this.#chat;
    if (!chat) {
      this.#say("Not connected to the server.", "warning");
      return undefined;
    }
    try {
      return await chat.request(line);
    } catch {
      return undefined; // the connection dropped: the pump reconnects
    }
  }

  /** What is known at login: who is online, rooms, blocks; then the open conversation. */
  async #loadState(): Promise<void> {
    const [who, rooms, blocked, privates, channels] = [
      await this.#request("WHO"),
      await this.#request("ROOM LIST"),
      await this.#request("BLOCKED"),
      await this.#request("HISTORY p"),
      await this.#request("CHANNELS"),
    ];
    this.#model.setOnline(dataOf(who, "users")?.users ?? []);
    this.#model.addPrivateChats(dataOf(privates, "history")?.messages ?? []);
    for (const room of dataOf(rooms, "rooms")?.rooms ?? []) {
      this.#model.addRoom(room.id, room.members);
    }
    for (const name of dataOf(blocked, "names")?.names ?? []) this.#model.blocked.add(name);
    for (const channel of dataOf(channels, "channels")?.channels ?? []) {
      if (channel.joined) this.#model.addChannel(channel.name);
    }
    this.#renderNav();
    await this.#open(
      this.#view.kind === "conversation" ? this.#view : { kind: "conversation", id: BROADCAST_ID },
    );
  }

  #onEvent(event: ChatEvent, at: number): void {
    switch (event.type) {
      case "shutdown":
        this.#say("The server is shutting down. The page reconnects when it is back.", "warning");
        return;
      case "idle":
        this.#stopped = true;
        this.#showLogin(event.text);
        return;
      case "disconnect":
        this.#stopped = true;
        this.#showLogin(event.text);
        return;
      case "peer":
        return; // peer-to-peer needs the terminal client
    }
    const shown = this.#view.kind === "conversation" ? this.#view.id : undefined;
    const conversation = this.#model.apply(event, shown, at);
    if (conversation && conversation.id === shown) this.#appendMessage(conversation);
    if (shown !== undefined && "channel" in event && !this.#model.conversations.has(shown)) {
      void this.#open({ kind: "conversation", id: BROADCAST_ID }); // put out of the channel shown
    } else if (conversation?.kind === "channel" && conversation.id === shown) {
      this.#main.querySelector(".channel-info")?.replaceWith(this.#channelHeader(conversation));
    }
    this.#notify(event);
    this.#renderNavSoon();
  }

  #navQueued = false;

  /**
   * Updates the navigation once per frame however many events arrive: at 250 messages a second
   * with a thousand people online, once per event would be most of the page's time.
   */
  #renderNavSoon(): void {
    if (this.#navQueued) return;
    this.#navQueued = true;
    const render = () => {
      this.#navQueued = false;
      if (this.#chat && this.#notice.isConnected) this.#renderNav();
    };
    // A hidden tab gets no frames, but its title still counts what comes.
    if (document.visibilityState === "hidden") setTimeout(render, 100);
    else requestAnimationFrame(render);
  }

  /** Mentions of you and private messages while the page is not looked at. */
  #mentions = 0;

  /**
   * A desktop notification (when the person turned them on) and a mark in the tab's title for a
   * private message or a mention of you that arrives while the page is hidden.
   */
  #notify(event: ChatEvent): void {
    const me = this.#model.me;
    let title: string;
    let body: string;
    if (event.type === "private") {
      [title, body] = [`${event.from} (private)`, event.text];
    } else if (
      (event.type === "broadcast" || event.type === "room") && event.from !== me &&
      mentionsMe(event.text, me)
    ) {
      [title, body] = [`${event.from} mentioned you`, event.text];
    } else return;
    if (document.visibilityState !== "hidden" && document.hasFocus()) return;
    this.#mentions++;
    if (this.#notifications && typeof Notification === "function") {
      try {
        new Notification(title, { body: body.slice(0, 200), tag: "labchat" });
      } catch {
        // a browser that will not show one now: the title still says so
      }
    }
  }

  /** The person asked for desktop notifications (and the browser allowed them). */
  #notifications = false;

  // ---- login ----

  #showLogin(reason?: string): void {
    clearTimeout(this.#retryTimer);
    this.#stopped = true;
    const user = h("input", {
      id: "login-user",
      name: "username",
      autocomplete: "username",
      required: true,
      spellcheck: "false",
    });
    const password = h("input", {
      id: "login-password",
      name: "password",
      type: "password",
      autocomplete: "current-password",
      required: true,
    });
    const error = h("p", { id: "login-error", role: "alert", class: "error" }, reason ?? "");
    const submit = async (register: boolean) => {
      if (!user.value || !password.value) {
        error.textContent = "Give a user name and a password.";
        return;
      }
      error.textContent = "";
      const answer = await signIn(user.value.trim(), password.value, register);
      if (answer.code !== 200) {
        error.textContent = answerText(answer);
        password.select();
        return;
      }
      // Signed in with the form: a refusal now (logged in elsewhere) is said at once.
      const outcome = await this.#connect(false);
      if (outcome === "connected") password.value = "";
      else if (outcome === "unreachable") error.textContent = "Cannot reach the server; try again";
      else error.textContent = outcome.refused;
    };
    const form = h(
      "form",
      { class: "login", "aria-labelledby": "login-title" },
      h("h1", { id: "login-title" }, "labchat"),
      h("p", {}, "Log in, or create an account."),
      h("label", { for: "login-user" }, "Username"),
      user,
      h("label", { for: "login-password" }, "Password"),
      password,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit" }, "Log in"),
        button("Create account", () => void submit(true)),
      ),
      error,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void submit(false);
    });
    replace(this.#root, form);
    document.title = "labchat";
    user.focus();
  }

  // ---- the chat ----

  #showChat(): void {
    const motd = button("Message of the day", async () => {
      const reply = await this.#request("MOTD");
      if (reply) this.#say(reply.ok ? `Message of the day: ${reply.text}` : reply.text, "info");
    });
    const notify = button("Notify me", async () => {
      if (typeof Notification !== "function" || !isSecureContext) {
        // Browsers offer notifications to HTTPS and localhost pages only; the tab still counts.
        this.#say(
          "Desktop notifications need the page over HTTPS (or on localhost); the tab's title still counts private messages and mentions.",
          "info",
        );
        return;
      }
      if (this.#notifications) {
        this.#notifications = false;
        notify.textContent = "Notify me";
        this.#say("Desktop notifications are off.", "info");
        return;
      }
      const permission = await Notification.requestPermission();
      this.#notifications = permission === "granted";
      notify.textContent = this.#notifications ? "Stop notifying" : "Notify me";
      this.#say(
        this.#notifications
          ? "You will be notified of private messages and mentions while the page is in the background."
          : "The browser did not allow notifications.",
        "info",
      );
    });
    const logout = button("Log out", async () => {
      this.#stopped = true;
      await this.#request("LOGOUT");
      await this.#chat?.close();
      this.#chat = undefined;
      await signOut();
      this.#showLogin("You have logged out.");
    });
    const query = h("input", {
      id: "search-input",
      type: "search",
      autocomplete: "off",
      maxlength: 500,
      placeholder: "iperf from:hans in:b",
    });
    const search = h(
      "form",
      { class: "search", role: "search" },
      h("label", { for: "search-input", class: "visually-hidden" }, "Search messages"),
      query,
      h("button", { type: "submit" }, "Search"),
    );
    search.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = query.value.trim();
      if (text) void this.#open({ kind: "search", query: text });
    });
    replace(this.#layout, this.#nav, this.#main);
    this.#setDrawer(false);
    // The first thing a keyboard reaches: straight to where one types.
    const skip = h("a", { class: "skip-link", href: "#message-input" }, "Skip to the message box");
    skip.addEventListener("click", (e) => {
      e.preventDefault();
      (this.#main.querySelector<HTMLElement>("#message-input, #post-input") ?? this.#main).focus();
    });
    replace(
      this.#root,
      skip,
      h(
        "header",
        {},
        this.#drawerToggle,
        h("h1", {}, "labchat"),
        h("span", { class: "me" }, "Logged in as ", h("strong", {}, this.#model.me)),
        search,
        h("div", { class: "actions" }, notify, motd, logout),
      ),
      this.#notice,
      this.#layout,
    );
    this.#buildNav();
  }

  #say(text: string, kind: "info" | "warning" | "error"): void {
    replace(this.#notice, text ? h("p", { class: kind }, text) : undefined);
  }

  /** Builds the navigation once per login; {@linkcode #renderNav} keeps it up to date. */
  #buildNav(): void {
    this.#conversationItems.clear();
    this.#userItems.clear();
    replace(
      this.#nav,
      h("h2", { id: "conversations-title" }, "Conversations"),
      this.#conversationList,
      this.#newConversationForm(),
      this.#joinChannelForm(),
      h("h2", { id: "online-title" }, "Online"),
      this.#onlineList,
      this.#blockedSection,
      h("h2", {}, "Forum"),
      this.#forumButton,
    );
  }

  /**
   * Updates the navigation in place: elements that stay are kept, so the focus, a half-typed
   * name and an open menu survive the events that arrive meanwhile.
   */
  #renderNav(): void {
    const model = this.#model;
    const shown = this.#view.kind === "conversation" ? this.#view.id : undefined;
    syncChildren(
      this.#conversationList,
      [...model.conversations.values()].map((c) => this.#conversationItem(c, c.id === shown)),
    );
    const online = [...model.online.keys()].filter((u) => u !== model.me).sort();
    for (const user of this.#userItems.keys()) {
      if (!model.online.has(user)) this.#userItems.delete(user);
    }
    syncChildren(
      this.#onlineList,
      online.length === 0 ? [this.#nobodyOnline] : online.map((user) => this.#userItem(user)),
    );
    const blocked = [...model.blocked].sort();
    replace(
      this.#blockedSection,
      ...(blocked.length === 0 ? [] : [
        h("h2", {}, "Blocked"),
        h(
          "ul",
          { class: "blocked", "aria-label": "Users you blocked" },
          ...blocked.map((user) =>
            h(
              "li",
              {},
              h("span", { class: "user" }, user),
              button("Unblock", () => void this.#setBlocked(user, false), {
                "aria-label": `Unblock ${user}`,
              }),
            )
          ),
        ),
      ]),
    );
    if (this.#view.kind === "conversation") this.#forumButton.removeAttribute("aria-current");
    else this.#forumButton.setAttribute("aria-current", "page");
    const unread = model.unread;
    if (document.visibilityState !== "hidden" && document.hasFocus()) this.#mentions = 0;
    const mark = this.#mentions > 0 ? `(@${this.#mentions}) ` : unread > 0 ? `(${unread}) ` : "";
    document.title = `${mark}labchat`;
    this.#drawerToggle.textContent = unread > 0 ? `Conversations (${unread})` : "Conversations";
  }

  /** The navigation entry of a conversation, kept and updated. */
  #conversationItem(c: Conversation, current: boolean): HTMLLIElement {
    let item = this.#conversationItems.get(c.id);
    if (!item) {
      const open = button("", () => void this.#open({ kind: "conversation", id: c.id }), {
        "data-id": c.id,
      });
      const badge = h("span", { class: "unread", "aria-hidden": "true" });
      item = { li: h("li", {}, open, badge), open, badge };
      this.#conversationItems.set(c.id, item);
    }
    const mark = { broadcast: "# ", room: "⌂ ", private: "@ ", channel: "" }[c.kind];
    item.open.textContent = `${mark}${c.title}`;
    const mentioned = c.mentions > 0 ? `, ${c.mentions} mentioning you` : "";
    item.open.setAttribute(
      "aria-label",
      c.unread > 0 ? `${c.title}, ${c.unread} unread${mentioned}` : c.title,
    );
    if (current) item.open.setAttribute("aria-current", "page");
    else item.open.removeAttribute("aria-current");
    item.badge.textContent = c.unread > 0 ? `${c.mentions > 0 ? "@" : ""}${c.unread}` : "";
    item.badge.classList.toggle("mentioned", c.mentions > 0);
    item.badge.hidden = c.unread === 0;
    return item.li;
  }

  /** An online user, with a menu: send a message, block or unblock. */
  #userItem(user: string): HTMLLIElement {
    const blocked = this.#model.blocked.has(user);
    const kept = this.#userItems.get(user);
    if (kept && kept.blocked === blocked) return kept.li;
    const menu = h(
      "details",
      { class: "menu" },
      h("summary", { "aria-label": `Actions for ${user}` }, "⋯"),
      h(
        "div",
        { class: "menu-items" },
        button(`Message ${user}`, () => {
          menu.open = false;
          this.#model.conversation("private", user);
          void this.#open({ kind: "conversation", id: `@${user}` });
        }),
        button(blocked ? `Unblock ${user}` : `Block ${user}`, () => {
          menu.open = false;
          void this.#setBlocked(user, !blocked);
        }),
      ),
    );
    const li = h("li", {}, h("span", { class: "user" }, user, blocked ? " (blocked)" : ""), menu);
    this.#userItems.set(user, { li, blocked });
    return li;
  }

  /** Blocks or unblocks a user, and says how it went. */
  async #setBlocked(user: string, block: boolean): Promise<void> {
    const reply = await this.#request(formatRequest(block ? "BLOCK" : "UNBLOCK", [user]));
    if (!reply) return;
    if (reply.ok) block ? this.#model.blocked.add(user) : this.#model.blocked.delete(user);
    this.#say(reply.text, reply.ok ? "info" : "error");
    this.#renderNav();
  }

  /** Starts a private chat (with anyone, online or not) or creates a room. */
  #newConversationForm(): HTMLElement {
    const names = h("input", {
      id: "new-conversation",
      placeholder: "user names",
      autocomplete: "off",
      spellcheck: "false",
    });
    const form = h(
      "form",
      { class: "new-room" },
      h("label", { for: "new-conversation" }, "New conversation with"),
      names,
      h("button", { type: "submit", value: "private" }, "Message"),
      h("button", { type: "submit", value: "room" }, "Create room"),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const wanted = names.value.trim().split(/\s+/).filter((n) => n !== "");
      if (wanted.length === 0) return;
      const submitter = (e as SubmitEvent).submitter as HTMLButtonElement | null;
      if (submitter?.value === "private") {
        if (wanted.length > 1) {
          this.#say("A private chat is with one user; create a room for several", "error");
          return;
        }
        names.value = "";
        this.#model.conversation("private", wanted[0]);
        await this.#open({ kind: "conversation", id: `@${wanted[0]}` });
        return;
      }
      const reply = await this.#request(formatRequest("ROOM CREATE", [wanted.join(" ")]));
      if (!reply) return;
      const room = dataOf(reply, "room")?.room;
      if (!room) {
        this.#say(reply.text, "error");
        return;
      }
      names.value = "";
      const conversation = this.#model.addRoom(room.id, room.members);
      await this.#open({ kind: "conversation", id: conversation.id });
    });
    return form;
  }

  /** Joins a channel, creating it when nobody is in it. */
  #joinChannelForm(): HTMLElement {
    const name = h("input", {
      id: "join-channel",
      placeholder: "#channel",
      autocomplete: "off",
      spellcheck: "false",
    });
    const form = h(
      "form",
      { class: "join-channel" },
      h("label", { for: "join-channel" }, "Join or create a channel"),
      name,
      h("button", { type: "submit" }, "Join"),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      let wanted = name.value.trim();
      if (wanted === "") return;
      if (!wanted.startsWith("#")) wanted = `#${wanted}`;
      let line: string;
      try {
        line = formatRequest("JOIN", [wanted]);
      } catch (error) {
        this.#say(error instanceof Error ? error.message : String(error), "error");
        return;
      }
      const reply = await this.#request(line);
      if (!reply) return;
      const joined = dataOf(reply, "joined");
      if (!joined) {
        this.#say(reply.text, "error");
        return;
      }
      name.value = "";
      const channel = this.#model.addChannel(joined.channel.name, joined.channel);
      await this.#open({ kind: "conversation", id: channel.id });
    });
    return form;
  }

  /** A channel's topic (which operators may change) and members, and a way out. */
  #channelHeader(channel: Conversation): HTMLElement {
    const topic = h("p", { class: "topic" }, channel.topic ? channel.topic : "No topic");
    const members = channel.members ?? [];
    const rank = (m: { op: boolean; voice: boolean }) => m.op ? "@" : m.voice ? "+" : "";
    const field = h("input", {
      id: "topic-input",
      autocomplete: "off",
      value: channel.topic ?? "",
    });
    const topicForm = h(
      "form",
      { class: "compose" },
      h("label", { for: "topic-input" }, "New topic"),
      field,
      h("button", { type: "submit" }, "Set topic"),
    );
    const change = h(
      "details",
      { class: "topic-change" },
      h("summary", {}, "Change topic"),
      topicForm,
    );
    topicForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = field.value.trim();
      const line = text === ""
        ? formatRequest("TOPIC CLEAR", [channel.target])
        : formatRequest("TOPIC", [channel.target, text]);
      const reply = await this.#request(line);
      if (!reply) return;
      if (!reply.ok) {
        this.#say(reply.text, "error");
        return;
      }
      channel.topic = dataOf(reply, "topic")?.topic ?? text;
      await this.#open({ kind: "conversation", id: channel.id });
    });
    return h(
      "div",
      { class: "channel-info" },
      topic,
      h(
        "details",
        { class: "members" },
        h("summary", {}, `${members.length} member${members.length === 1 ? "" : "s"}`),
        h(
          "ul",
          { "aria-label": `Members of ${channel.target}` },
          ...members.map((m) => h("li", {}, `${rank(m)}${m.name}`)),
        ),
      ),
      change,
      button(`Leave ${channel.target}`, async () => {
        const reply = await this.#request(formatRequest("PART", [channel.target]));
        if (!reply) return;
        if (!reply.ok) {
          this.#say(reply.text, "error");
          return;
        }
        this.#model.remove(channel.id);
        this.#say(`You left ${channel.target}`, "info");
        await this.#open({ kind: "conversation", id: BROADCAST_ID });
      }),
    );
  }

  // ---- views ----

  async #open(view: View): Promise<void> {
    this.#view = view;
    if (this.#drawerOpen) this.#setDrawer(false); // on a phone: back to what was opened
    if (view.kind === "forum") await this.#showForum();
    else if (view.kind === "thread") await this.#showThread(view.name);
    else if (view.kind === "search") await this.#showSearch(view.query);
    else await this.#showConversation(view.id);
    this.#renderNav();
    this.#keepFocus();
  }

  /**
   * After a view is drawn anew the element that had the focus may be gone: the focus goes to the
   * view's message box, or its heading, never to the page's body.
   */
  #keepFocus(): void {
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    const box = this.#main.querySelector<HTMLElement>("#message-input, #post-input");
    const heading = this.#main.querySelector<HTMLElement>("h2");
    if (!box && heading) heading.tabIndex = -1;
    (box ?? heading ?? this.#main).focus();
  }

  async #showConversation(id: string): Promise<void> {
    const conversation = this.#model.conversations.get(id) ??
      this.#model.conversation("broadcast", "");
    // Where the person left off: a line above what came since they last looked.
    const unseen = conversation.unread;
    conversation.unread = 0;
    conversation.mentions = 0;
    if (conversation.kind === "channel" && conversation.members === undefined) {
      const names = dataOf(
        await this.#request(formatRequest("NAMES", [conversation.target])),
        "channel",
      );
      if (names) this.#model.addChannel(conversation.target, names.channel);
    }
    const input = h("input", {
      id: "message-input",
      autocomplete: "off",
      "aria-describedby": "message-error",
    });
    const error = h("p", { id: "message-error", role: "alert", class: "error" });
    const form = h(
      "form",
      { class: "compose" },
      h(
        "label",
        { for: "message-input", class: "visually-hidden" },
        `Message to ${conversation.title}`,
      ),
      input,
      h("button", { type: "submit" }, "Send"),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      error.textContent = "";
      if (await this.#send(conversation, text, error)) input.value = "";
    });
    const other = conversation.kind === "private" ? conversation.target : undefined;
    const blocked = other !== undefined && this.#model.blocked.has(other);
    const list = h("ol", {
      class: "messages",
      // It scrolls: reachable by keyboard to scroll it.
      tabindex: "0",
      "aria-labelledby": "conversation-title",
      // Announces what arrives, not the history the list is filled with (see #quietly).
      "aria-live": conversation.loaded ? "polite" : "off",
      "aria-relevant": "additions",
    }, ...this.#items(conversation, MAX_SHOWN));
    replace(
      this.#main,
      h(
        "div",
        { class: "title" },
        h("h2", { id: "conversation-title" }, conversation.title),
        other === undefined ? undefined : button(
          blocked ? `Unblock ${other}` : `Block ${other}`,
          async () => {
            await this.#setBlocked(other, !blocked);
            await this.#open({ kind: "conversation", id: conversation.id });
          },
        ),
        // Out of the sidebar until something new comes in it (the history stays).
        conversation.kind === "private" || conversation.kind === "room"
          ? button("Close", () => {
            this.#model.remove(conversation.id);
            void this.#open({ kind: "conversation", id: BROADCAST_ID });
          }, { "aria-label": `Close ${conversation.title}` })
          : undefined,
      ),
      conversation.kind === "channel" ? this.#channelHeader(conversation) : undefined,
      list,
      this.#newestButton(list),
      form,
      error,
    );
    this.#followScroll(conversation, list);
    this.#scrollDown();
    input.focus();
    if (conversation.loaded) {
      this.#markUnseen(list, conversation, unseen);
      return;
    }
    // The view is there at once; its history fills in when it arrives.
    const target = conversation.kind === "broadcast" ? "b" : conversation.target;
    const reply = await this.#request(formatRequest("HISTORY", [target]));
    if (!reply?.ok) {
      list.setAttribute("aria-live", "polite");
      return;
    }
    this.#model.setHistory(conversation, dataOf(reply, "history")?.messages ?? []);
    if (!list.isConnected) return; // the user has moved on
    quietly(list, () => replace(list, ...this.#items(conversation, MAX_SHOWN)));
    this.#scrollDown();
    this.#markUnseen(list, conversation, unseen);
  }

  /** A "New messages" line above the last `unseen` messages, scrolled into view. */
  #markUnseen(list: HTMLElement, conversation: Conversation, unseen: number): void {
    if (unseen <= 0) return;
    const first = list.querySelector(`[data-index="${conversation.messages.length - unseen}"]`);
    if (!first) return;
    const line = h("li", { class: "new-messages" }, h("span", {}, "New messages"));
    first.before(line);
    if (list.scrollHeight > list.clientHeight) line.scrollIntoView({ block: "start" });
  }

  /** "Jump to the newest", shown while the list is scrolled up. */
  #newestButton(list: HTMLElement): HTMLButtonElement {
    const jump = button("Jump to the newest", () => {
      list.scrollTop = list.scrollHeight;
      jump.hidden = true;
    }, { class: "newest" });
    jump.hidden = true;
    return jump;
  }

  /**
   * Scrolling up to the top reads the page of history before the first message shown (and so
   * on, page by page); scrolling up shows the way back to the newest.
   */
  #followScroll(conversation: Conversation, list: HTMLElement): void {
    let loading = false;
    let exhausted = false;
    list.addEventListener("scroll", async () => {
      const jump = this.#main.querySelector("button.newest") as HTMLButtonElement | null;
      if (jump) jump.hidden = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
      if (loading || exhausted || list.scrollTop > 40 || !conversation.loaded) return;
      const first = conversation.messages.find((m) => m.number !== undefined)?.number;
      if (first === undefined || first <= 1) return;
      loading = true;
      const target = conversation.kind === "broadcast" ? "b" : conversation.target;
      const reply = await this.#request(formatRequest("HISTORY", [target, `before ${first}`]));
      const before = conversation.messages.length;
      const oldFirst = conversation.messages[0];
      this.#model.addOlder(conversation, dataOf(reply, "history")?.messages ?? []);
      exhausted = conversation.messages.length === before;
      if (!exhausted && list.isConnected) {
        // The older page goes on top; what was in view stays in view.
        const fromBottom = list.scrollHeight - list.scrollTop;
        const added = conversation.messages.indexOf(oldFirst);
        quietly(list, () => {
          if (added !== conversation.messages.length - before) {
            replace(list, ...this.#items(conversation)); // not only older ones: all anew
            return;
          }
          // Only the older page is made; the items there move down by as many.
          for (const item of list.querySelectorAll<HTMLElement>("[data-index]")) {
            item.dataset.index = String(Number(item.dataset.index) + added);
          }
          const top = list.firstElementChild;
          const older = this.#itemsBetween(conversation, 0, added);
          const sameDay = dayOf(conversation.messages[added - 1].at) === dayOf(oldFirst.at);
          if (sameDay && top?.classList.contains("day")) top.remove();
          list.prepend(...older);
        });
        list.scrollTop = list.scrollHeight - fromBottom;
      }
      loading = false;
    });
  }

  /** The list items of a conversation's last `count` messages (all, without a count). */
  #items(conversation: Conversation, count = Infinity, appended = false): HTMLLIElement[] {
    const end = conversation.messages.length;
    return this.#itemsBetween(conversation, Math.max(0, end - count), end, appended);
  }

  /** The list items of messages `first` up to `end` (not included). */
  #itemsBetween(
    conversation: Conversation,
    first: number,
    end: number,
    appended = false,
  ): HTMLLIElement[] {
    const messages = conversation.messages;
    const items: HTMLLIElement[] = [];
    for (let i = first; i < end; i++) {
      const m = messages[i];
      // The list's first message always says its day; appended ones only when the day changes.
      const before = i > first || appended ? messages[i - 1] : undefined;
      const newDay = !before || dayOf(before.at) !== dayOf(m.at);
      if (newDay) items.push(dayItem(m.at));
      const continued = !newDay && before !== undefined && before.from === m.from &&
        !before.system && !m.system && m.at - before.at < GROUP_MS;
      items.push(this.#messageItem(m, i, continued));
    }
    return items;
  }

  /** Sends what was typed; true once the server took it (the box may be emptied then). */
  async #send(conversation: Conversation, text: string, error: HTMLElement): Promise<boolean> {
    let line: string;
    try {
      line = conversation.kind === "broadcast"
        ? formatRequest("BROADCAST", [text])
        : conversation.kind === "private"
        ? formatRequest("MSG", [conversation.target, text])
        : conversation.kind === "channel"
        ? formatRequest("SAY", [conversation.target, text])
        : formatRequest("ROOM SAY", [conversation.target, text]);
    } catch (e) {
      error.textContent = e instanceof Error ? e.message : String(e);
      return false;
    }
    const bytes = new TextEncoder().encode(line).length + 1;
    if (bytes > MAX_LINE_BYTES) {
      // Never cut silently: the text stays in the box to be shortened or sent in parts.
      error.textContent = `This message is too long (${bytes} bytes with its command; the server ` +
        `takes ${MAX_LINE_BYTES}): shorten it or send it in parts`;
      return false;
    }
    const reply = await this.#request(line);
    if (!reply) return false;
    if (!reply.ok) {
      error.textContent = reply.text;
      return false;
    }
    if (reply.code === 202) error.textContent = reply.text.replace(/^.*?\.\s/, "");
    const sent = dataOf(reply, "sent");
    // Kept for later: say so, so nobody waits for an answer that cannot come yet.
    if (sent?.offline) {
      error.textContent = `${conversation.target} is offline: they will get it when they log in`;
    }
    const number = conversation.kind === "private" ? undefined : sent?.number;
    this.#model.addMessage(
      conversation,
      { number, from: this.#model.me, text, at: sent?.at ?? Date.now() },
      conversation.id,
    );
    this.#appendMessage(conversation);
    return true;
  }

  #messageItem(
    m: Conversation["messages"][number],
    index: number,
    continued = false,
  ): HTMLLIElement {
    const me = this.#model.me;
    if (m.system) {
      return h(
        "li",
        { class: "system", "data-index": String(index) },
        timeElement(m.at),
        h("span", { class: "text" }, m.text),
      );
    }
    const classes = [
      m.from === me ? "mine" : "",
      mentionsMe(m.text, me) ? "mentions-me" : "",
      continued ? "continued" : "",
    ];
    return h(
      "li",
      {
        class: classes.filter((c) => c !== "").join(" ") || undefined,
        "data-index": String(index),
      },
      m.number !== undefined ? h("span", { class: "number" }, `#${m.number}`) : undefined,
      h("span", { class: "from" }, m.from),
      timeElement(m.at),
      m.offline ? h("span", { class: "offline" }, "sent while you were away") : undefined,
      h("span", { class: "text" }, ...segments(m.text, me).map(segmentNode)),
    );
  }

  /**
   * Shows the conversation's new messages, once per frame however many arrive: one layout for a
   * burst rather than one per message, and no more than {@linkcode MAX_SHOWN} in the list.
   */
  #appendMessage(conversation: Conversation): void {
    if (this.#appendQueued) return;
    this.#appendQueued = true;
    requestAnimationFrame(() => {
      this.#appendQueued = false;
      if (this.#view.kind !== "conversation" || this.#view.id !== conversation.id) return;
      const list = this.#main.querySelector("ol.messages");
      if (!list) return;
      const last = Number((list.lastElementChild as HTMLElement | null)?.dataset.index ?? -1);
      const fresh = conversation.messages.length - 1 - last;
      if (fresh <= 0) return;
      const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
      append(list, ...this.#items(conversation, Math.min(fresh, MAX_SHOWN), true));
      while (list.childElementCount > MAX_SHOWN) list.firstElementChild?.remove();
      // Its day's heading went with the oldest: that message makes room for it again.
      if (!list.firstElementChild?.classList.contains("day")) {
        list.firstElementChild?.remove();
        const top = list.firstElementChild as HTMLElement | null;
        const oldest = conversation.messages[Number(top?.dataset.index)];
        if (oldest && !top?.classList.contains("day")) list.prepend(dayItem(oldest.at));
      }
      // Following the conversation: stay at the newest; reading back: stay where you are.
      if (atBottom || conversation.messages.at(-1)?.from === this.#model.me) this.#scrollDown();
    });
  }

  #appendQueued = false;

  #scrollDown(): void {
    const list = this.#main.querySelector("ol.messages");
    if (list) list.scrollTop = list.scrollHeight;
  }

  // ---- search ----

  /** Results of SEARCH, a page at a time; each opens where it was said. */
  async #showSearch(query: string): Promise<void> {
    const list = h("ol", { class: "hits", "aria-labelledby": "search-title" });
    const status = h("p", { role: "status" }, "Searching…");
    replace(this.#main, h("h2", { id: "search-title" }, `Search: ${query}`), status, list);
    let next: string | undefined = query;
    let shown = 0;
    const more = button("More results", () => void loadPage());
    const loadPage = async () => {
      if (next === undefined) return;
      const reply = await this.#request(formatRequest("SEARCH", [next]));
      if (!reply) return;
      if (!reply.ok) {
        status.textContent = reply.text;
        more.remove();
        return;
      }
      const found = dataOf(reply, "search");
      const hits = found?.hits ?? [];
      append(list, ...hits.map((hit) => this.#hitItem(hit)));
      const page = found?.page ?? 1;
      next = found?.more ? `${query} page:${page + 1}` : undefined;
      shown += hits.length;
      status.textContent = shown === 0
        ? `Nothing found for ${query}`
        : `${shown} result${shown === 1 ? "" : "s"}${next === undefined ? "" : " so far"}`;
      if (next === undefined) more.remove();
      else if (!more.isConnected) this.#main.append(more);
    };
    await loadPage();
  }

  #hitItem(hit: SearchHitView): HTMLLIElement {
    const snippet = h(
      "span",
      { class: "text" },
      ...snippetParts(hit.snippet).map((part) =>
        part.found ? h("mark", {}, part.text) : document.createTextNode(part.text)
      ),
    );
    return h(
      "li",
      {},
      button(hit.where, () => void this.#openHit(hit), { class: "where" }),
      h("span", { class: "from" }, hit.from),
      timeElement(hit.at),
      snippet,
    );
  }

  /** Opens the conversation (or thread) of a hit and shows the message with its neighbours. */
  async #openHit(hit: SearchHitView): Promise<void> {
    const place = hit.place;
    if (place.kind === "post" || place.kind === "file") {
      await this.#open({ kind: "thread", name: place.thread });
      return;
    }
    if (place.kind === "channel" && !this.#model.conversations.has(place.channel.toLowerCase())) {
      this.#say(`Join ${place.channel} to read it here`, "info");
      return;
    }
    const conversation = place.kind === "broadcast"
      ? this.#model.conversation("broadcast", "")
      : place.kind === "channel"
      ? this.#model.addChannel(place.channel)
      : place.kind === "private"
      ? this.#model.conversation("private", place.with)
      : this.#model.conversations.get(`room:${place.room}`) ??
        this.#model.conversation("room", String(place.room));
    await this.#open({ kind: "conversation", id: conversation.id });
    if (this.#view.kind !== "conversation" || this.#view.id !== conversation.id) return;
    let index = this.#findMessage(conversation, hit);
    if (index < 0 && place.kind !== "private") {
      // Older than what is loaded: read the page that ends a few messages after it.
      const target = place.kind === "broadcast"
        ? "b"
        : place.kind === "channel"
        ? place.channel
        : String(place.room);
      const before = `before ${place.number + 6}`;
      const reply = await this.#request(formatRequest("HISTORY", [target, before]));
      this.#model.addOlder(conversation, dataOf(reply, "history")?.messages ?? []);
      index = this.#findMessage(conversation, hit);
    }
    // Shown with its neighbours, however far back it is (older ones read moved every index).
    const list = this.#main.querySelector("ol.messages");
    if (list && index >= 0) quietly(list, () => replace(list, ...this.#items(conversation)));
    const item = list?.querySelector(`[data-index="${index}"]`) as HTMLElement | null;
    if (!item) {
      this.#say("That message is no longer in this conversation's history here.", "info");
      return;
    }
    item.classList.add("found");
    item.tabIndex = -1;
    item.scrollIntoView({ block: "center" });
    item.focus();
  }

  /** Where a hit's message is among a conversation's, or -1. */
  #findMessage(conversation: Conversation, hit: SearchHitView): number {
    const plain = snippetParts(hit.snippet).map((p) => p.text).join("").replace(/…/g, "").trim();
    const probe = plain.slice(0, 24);
    // A message sent from here carries no number: its time or text decides.
    const place = hit.place;
    const byNumber = place.kind === "broadcast" || place.kind === "room" || place.kind === "channel"
      ? place.number
      : undefined;
    return conversation.messages.findIndex((m) =>
      m.from === hit.from &&
      ((byNumber !== undefined && m.number === byNumber) || m.at === hit.at ||
        (probe !== "" && m.text.includes(probe)))
    );
  }

  // ---- the forum ----

  async #showForum(): Promise<void> {
    const reply = await this.#request("THREAD LIST");
    const names = (dataOf(reply, "threads")?.threads ?? []).map((t) => t.name);
    const name = h("input", { id: "thread-name", autocomplete: "off", required: true });
    const status = h("p", { role: "alert", class: "error" });
    const form = h(
      "form",
      { class: "new-thread" },
      h("label", { for: "thread-name" }, "New thread"),
      name,
      h("button", { type: "submit" }, "Create thread"),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const created = await this.#request(formatRequest("THREAD CREATE", [name.value.trim()]));
      if (!created) return;
      if (!created.ok) status.textContent = created.text;
      else await this.#open({ kind: "thread", name: name.value.trim() });
    });
    replace(
      this.#main,
      h("h2", {}, "Forum"),
      h(
        "ul",
        { class: "threads", "aria-label": "Threads" },
        ...(names.length === 0
          ? [h("li", { class: "muted" }, "No threads yet")]
          : names.map((t) =>
            h("li", {}, button(t, () => void this.#open({ kind: "thread", name: t })))
          )),
      ),
      form,
      status,
    );
  }

  async #showThread(thread: string): Promise<void> {
    const reply = await this.#request(formatRequest("THREAD READ", [thread]));
    const status = h("p", { id: "thread-status", role: "status", "aria-live": "polite" });
    if (!reply || !reply.ok) {
      replace(
        this.#main,
        h("h2", {}, `Thread ${thread}`),
        h("p", { class: "error" }, reply?.text ?? ""),
      );
      return;
    }
    const data = dataOf(reply, "thread");
    const entries = data?.entries ?? [];
    const me = this.#model.me;
    const isCreator = data?.creator === me;
    const refresh = () => void this.#open({ kind: "thread", name: thread });
    const run = async (line: string, then = refresh) => {
      const answer = await this.#request(line);
      if (!answer) return;
      if (!answer.ok) status.textContent = answer.text;
      else then();
    };
    const posts = entries.filter((e) => e.kind === "post");
    const files = entries.filter((e) => e.kind === "file");
    const postForm = h(
      "form",
      { class: "compose" },
      h("label", { for: "post-input" }, "Post a message"),
      h("input", { id: "post-input", autocomplete: "off" }),
      h("button", { type: "submit" }, "Post"),
    );
    postForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const input = postForm.querySelector("input") as HTMLInputElement;
      if (input.value.trim()) void run(formatRequest("POST", [thread, input.value.trim()]));
    });
    const chooser = h("input", { id: "upload-file", type: "file" });
    const progress = h("progress", { id: "upload-progress", max: 1, value: 0, hidden: true });
    const upload = h(
      "form",
      { class: "upload" },
      h("label", { for: "upload-file" }, "Attach a file"),
      chooser,
      h("button", { type: "submit" }, "Upload"),
      h("span", { class: "muted" }, "or drop a file here"),
      progress,
    );
    // Dropped on the form: chosen and sent at once.
    upload.addEventListener("dragover", (e) => {
      e.preventDefault();
      upload.classList.add("dropping");
    });
    upload.addEventListener("dragleave", () => upload.classList.remove("dropping"));
    upload.addEventListener("drop", (e) => {
      e.preventDefault();
      upload.classList.remove("dropping");
      const files = e.dataTransfer?.files;
      if (!files || files.length === 0) return;
      chooser.files = files;
      upload.requestSubmit();
    });
    upload.addEventListener("submit", async (e) => {
      e.preventDefault();
      const file = chooser.files?.[0];
      if (!file) return;
      progress.hidden = false;
      const answer = await uploadFile(thread, file, (step, done, total) => {
        progress.value = total > 0 ? done / total : 1;
        status.textContent = `${step === "checking" ? "Checking" : "Uploading"} ${file.name}: ${
          percent(done, total)
        }`;
      });
      progress.hidden = true;
      status.textContent = answer.code === 200 ? "" : answer.text;
      if (answer.code === 200) refresh();
    });
    replace(
      this.#main,
      h("h2", {}, `Thread ${thread}`),
      button("Back to the threads", () => void this.#open({ kind: "forum" })),
      // Only what this person may do is offered: the creator removes the thread.
      isCreator
        ? button("Remove thread", () =>
          void run(formatRequest("THREAD REMOVE", [thread]), () => {
            void this.#open({ kind: "forum" });
          }))
        : undefined,
      h(
        "ol",
        { class: "posts", "aria-label": "Messages", tabindex: "0" },
        ...posts.map((p) => this.#postItem(thread, p, run)),
      ),
      h("h3", {}, "Files"),
      files.length === 0 ? h("p", { class: "muted" }, "No files yet") : undefined,
      h(
        "ul",
        { class: "files", "aria-label": "Files" },
        ...files.map((f) =>
          h(
            "li",
            {},
            h("span", { class: "text" }, f.name),
            h("span", { class: "size" }, formatBytes(f.size)),
            h("span", { class: "from" }, `from ${f.uploader}`),
            timeElement(f.at),
            button("Download", () => void this.#download(thread, f.name, status), {
              "aria-label": `Download ${f.name}`,
            }),
            f.uploader === me || isCreator
              ? button(
                "Remove",
                () => void run(formatRequest("FILE REMOVE", [thread, f.name])),
                { "aria-label": `Remove ${f.name}` },
              )
              : undefined,
          )
        ),
      ),
      postForm,
      upload,
      status,
    );
  }

  /** A post; the user's own have Edit (in place) and Delete. */
  #postItem(
    thread: string,
    post: Extract<ThreadEntryView, { kind: "post" }>,
    run: (line: string) => Promise<void>,
  ): HTMLLIElement {
    const text = h("span", { class: "text" }, post.text);
    const item = h(
      "li",
      { class: post.author === this.#model.me ? "mine" : undefined, value: post.number },
      h("span", { class: "from" }, post.author),
      timeElement(post.at),
      text,
    );
    if (post.author !== this.#model.me) return item;
    const edit = button("Edit", () => {
      const field = h("input", {
        class: "edit",
        value: post.text,
        "aria-label": `New text of message ${post.number}`,
      });
      // Cancelled (the button or Escape): the text is back and the focus on its Edit button.
      const cancel = () => {
        form.replaceWith(text);
        edit.focus();
      };
      const form = h(
        "form",
        { class: "compose" },
        field,
        h("button", { type: "submit" }, "Save"),
        button("Cancel", cancel),
      );
      field.addEventListener("keydown", (e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          cancel();
        }
      });
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        if (field.value.trim() !== "") {
          void run(formatRequest("EDIT", [thread, String(post.number), field.value.trim()]));
        }
      });
      text.replaceWith(form);
      field.focus();
    }, { "aria-label": `Edit message ${post.number}` });
    const remove = button(
      "Delete",
      () => void run(formatRequest("DELETE", [thread, String(post.number)])),
      { "aria-label": `Delete message ${post.number}` },
    );
    append(item, edit, remove);
    return item;
  }

  async #download(thread: string, name: string, status: HTMLElement): Promise<void> {
    status.textContent = `Downloading ${name}…`;
    const result = await downloadFile(thread, name, (_step, done, total) => {
      status.textContent = `Downloading ${name}: ${percent(done, total)}`;
    });
    if (!result.ok) {
      status.textContent = result.text;
      return;
    }
    const url = URL.createObjectURL(result.blob);
    const link = h("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    status.textContent = `${name} downloaded; SHA-256 verified (${result.sha256.slice(0, 16)}…)`;
  }
}

/** `done` of `total` as a whole percentage. */
function percent(done: number, total: number): string {
  return `${total > 0 ? Math.floor(done / total * 100) : 100}%`;
}

/**
 * Changes a live list without announcing it (history read in, an older page): screen readers
 * announce the messages that arrive, not a hundred old ones at once.
 */
function quietly(list: Element, change: () => void): void {
  list.setAttribute("aria-live", "off");
  change();
  // Announced again from the next frame: the change has been taken in by then.
  requestAnimationFrame(() =>
    requestAnimationFrame(() => list.setAttribute("aria-live", "polite"))
  );
}

/** Messages of one sender this close together show as one group (the name once). */
const GROUP_MS = 5 * 60_000;

/** The local day of a time, to compare. */
function dayOf(at: number): string {
  return new Date(at).toDateString();
}

/** A line between days: `Today`, `Yesterday`, or the date. */
function dayItem(at: number): HTMLLIElement {
  const day = dayOf(at);
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  const label = day === today.toDateString()
    ? "Today"
    : day === yesterday.toDateString()
    ? "Yesterday"
    : new Date(at).toLocaleDateString([], {
      weekday: "long",
      day: "numeric",
      month: "long",
      year: "numeric",
    });
  return h("li", { class: "day" }, h("span", {}, label));
}

/** The data of a successful reply of the kind asked for, or `undefined`. */
function dataOf<K extends ReplyData["kind"]>(
  reply: ChatReply | undefined,
  kind: K,
): Extract<ReplyData, { kind: K }> | undefined {
  const data = reply?.ok ? reply.data : undefined;
  return data?.kind === kind ? data as Extract<ReplyData, { kind: K }> : undefined;
}

/** `14:02` for today, `03 Dec 14:02` before; the whole date and time as its title. */
function timeElement(at: number): HTMLTimeElement {
  const full = formatTimestamp(at); // `03 Dec 2026 14:02:11`, the page's local time
  const today = formatTimestamp(Date.now()).slice(0, 11) === full.slice(0, 11);
  const shown = today ? full.slice(12, 17) : `${full.slice(0, 6)} ${full.slice(12, 17)}`;
  return h("time", { datetime: new Date(at).toISOString(), title: full }, shown);
}

/** A piece of a message as a node: text, code, a link that opens elsewhere, or a mention. */
function segmentNode(segment: Segment): Node {
  if (segment.kind === "code") {
    const code = h("code", {}, segment.text);
    return segment.block ? h("pre", {}, code) : code;
  }
  let node: Node = segment.kind === "link"
    ? h(
      "a",
      { href: segment.href, target: "_blank", rel: "noopener noreferrer nofollow" },
      segment.text,
    )
    : segment.kind === "mention"
    ? h("mark", { class: "mention" }, segment.text)
    : document.createTextNode(segment.text);
  if (segment.italic) node = h("em", {}, node);
  if (segment.bold) node = h("strong", {}, node);
  return node;
}
