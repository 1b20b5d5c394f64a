/**
 * The web front end: the page and its files, the WebSocket at `/ws` that carries the line
 * protocol, the browser's login (`/api/session`), and forum files over HTTP (`/api/files/…`),
 * which run the same UPLOAD and DOWNLOAD handlers as TCP.
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { OutboundEvent } from "../../protocol/events.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { JSON_SUBPROTOCOL } from "../../protocol/frames.ts";
import { formatRequest } from "../../protocol/request.ts";
import { Client } from "../client.ts";
import type { ClientHost } from "../client_host.ts";
import { dispatch } from "../dispatch.ts";
import { signInForWeb } from "../handlers/account.ts";
import { Identity } from "../identity.ts";
import { RateLimiter } from "../io/rate_limiter.ts";
import { WEB_SESSION_MS } from "../services/web_sessions.ts";
import { HttpExchange, jsonReply } from "./http_exchange.ts";
import { SECURITY_HEADERS, type StaticFiles } from "./static_files.ts";
import type { WebHandler, WebRequestInfo } from "./http1/http1_connection.ts";
import { WsConnection, type WsConnectionOptions } from "./ws_connection.ts";

/** The cookie that carries a browser's session token. */
export const SESSION_COOKIE = "labchat_session";
/** Largest login request body. */
const MAX_LOGIN_BODY = 8 * 1024;

/** Settings of the web front end. */
export interface WebFrontEndOptions {
  readonly host: ClientHost;
  readonly files: StaticFiles;
  /** Served over TLS: cookies get `Secure`, and the page's origin is https. */
  readonly secure: boolean;
}

/** The session token of a request's cookie, if any. */
function sessionToken(request: Request): string | undefined {
  const header = request.headers.get("cookie") ?? "";
  for (const part of header.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === SESSION_COOKIE && /^[A-Za-z0-9_-]{20,100}$/.test(value.join("="))) {
      return value.join("=");
    }
  }
  return undefined;
}

function sessionCookie(token: string, secure: boolean, maxAge: number): string {
  return `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${
    secure ? "; Secure" : ""
  }`;
}

/**
 * Whether a request comes from this server's own page. A browser always sends Origin with a
 * WebSocket upgrade and a POST; another site's page cannot pretend to be ours. A request without
 * Origin is not from a browser page (a script, a test) and carries no cookie of ours to abuse.
 */
function fromOwnOrigin(request: Request): boolean {
  const origin = request.headers.get("origin");
  // The request's URL is built from Host (HTTP/1.1) or :authority (HTTP/2, which browsers
  // speak over TLS), and its scheme from the listener.
  return origin === null || origin === new URL(request.url).origin;
}

const text = (status: number, body: string, headers: Record<string, string> = {}) =>
  new Response(body, {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", ...headers },
  });

/** The request handler of the web front end. */
export function webHandler(
  options: WebFrontEndOptions,
): WebHandler {
  const { host, files, secure } = options;
  const ctx = host.ctx;
  const fileRate = new RateLimiter(ctx.config.connectRatePerIp);
  // One set of settings for every socket of a kind (each would otherwise hold closures).
  const lineSockets: WsConnectionOptions = {
    maxLineBytes: ctx.config.maxLineBytes,
    maxSendQueueBytes: ctx.config.maxSendQueueBytes,
    flush: host.flush,
    onSlowReader: (connection, why) => {
      ctx.log.info(`${connection.client?.label ?? "A WebSocket"} disconnected: ${why}`);
      if (why === "flooding") {
        connection.event(
          new OutboundEvent({
            type: "disconnect",
            text: "Disconnected: more requests at once than the server takes (flooding)",
          }),
        );
      }
      void connection.close(why === "flooding", 1000);
    },
  };
  const jsonSockets: WsConnectionOptions = { ...lineSockets, json: true };

  /** Runs one request line for the session's user, answering through the HTTP response. */
  async function throughDispatch(
    request: Request,
    info: WebRequestInfo,
    line: () => string,
  ): Promise<Response> {
    const refuse = async (code: number, message: string) => {
      await request.body?.cancel(); // an unread body must not linger
      return jsonReply(code, message);
    };
    const token = sessionToken(request);
    const user = token === undefined ? undefined : await ctx.webSessions.resolve(token);
    if (!user) return await refuse(Reply.NOT_LOGGED_IN, "Log in first");
    if (!fileRate.allow(info.remoteAddr.hostname)) {
      return await refuse(Reply.SERVER_BUSY, "Too many requests from your address; slow down");
    }
    let requestLine: string;
    try {
      requestLine = line();
    } catch (error) {
      return await refuse(Reply.USAGE, error instanceof Error ? error.message : String(error));
    }
    const exchange = new HttpExchange(request.body);
    const client = new Client("http", info.remoteAddr.hostname, info.remoteAddr.port, exchange);
    client.signIn(new Identity(user.name, ctx.accounts.isAdmin(user), ctx.clock.now()));
    dispatch(ctx, client, requestLine).catch((error) =>
      ctx.log.error(`${user.name}: web file transfer failed`, error)
    ).finally(() => exchange.discardBody());
    return await exchange.response;
  }

  async function login(request: Request, info: WebRequestInfo) {
    if (!(request.headers.get("content-type") ?? "").startsWith("application/json")) {
      return jsonReply(Reply.USAGE, "Send JSON: { user, password, register }");
    }
    const body = await request.text();
    if (body.length > MAX_LOGIN_BODY) return jsonReply(Reply.BAD_LINE, "Request too large");
    let fields: { user?: unknown; password?: unknown; register?: unknown };
    try {
      fields = JSON.parse(body);
    } catch {
      return jsonReply(Reply.USAGE, "Send JSON: { user, password, register }");
    }
    const { user, password, register } = fields;
    if (typeof user !== "string" || typeof password !== "string") {
      return jsonReply(Reply.USAGE, "Give a user name and a password");
    }
    try {
      // The same name and password rules as the line protocol's LOGIN and REGISTER.
      formatRequest(register === true ? "REGISTER" : "LOGIN", [user, password]);
      const signed = await signInForWeb(
        ctx,
        info.remoteAddr.hostname,
        user,
        password,
        register === true,
      );
      const welcome = `Welcome to labchat, ${signed.user.name}!`;
      return jsonReply(Reply.OK, welcome, {
        "set-cookie": sessionCookie(signed.token, secure, WEB_SESSION_MS / 1000),
      });
    } catch (error) {
      if (error instanceof ProtocolError) {
        return jsonReply(error.code, error.message, {}, error.before);
      }
      if (error instanceof TypeError) {
        return jsonReply(Reply.INVALID_VALUE, "A user name has no spaces");
      }
      throw error;
    }
  }

  function upgrade(request: Request, info: WebRequestInfo): Response {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      // RFC 9110 15.5.22: a 426 names the protocol to upgrade to.
      return text(426, "This is labchat's WebSocket: connect with a WebSocket client", {
        upgrade: "websocket",
      });
    }
    const { hostname: ip, port } = info.remoteAddr;
    const refusal = host.admit(ip);
    if (refusal !== undefined) return text(503, refusal.slice(4).trim());
    const token = sessionToken(request);
    // A client asking for the JSON subprotocol gets typed frames; any other gets lines.
    const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",");
    const json = offered.some((name) => name.trim() === JSON_SUBPROTOCOL);
    let accepted;
    try {
      accepted = info.upgrade(json ? JSON_SUBPROTOCOL : undefined);
    } catch (error) {
      host.release(ip); // not a valid upgrade: the place it took is given back
      throw error;
    }
    const { socket, response } = accepted;
    const connection = new WsConnection(socket, json ? jsonSockets : lineSockets);
    const client = connection.client = new Client("ws", ip, port, connection, token);
    ctx.log.info(`Connected to ${ip}:${port} (WebSocket)`);
    host.serve(client, connection);
    return response;
  }

  return async (request, info) => {
    const url = new URL(request.url);
    const path = url.pathname;
    const api = path === "/ws" || path.startsWith("/api/");
    if (api && !fromOwnOrigin(request)) {
      ctx.log.info(`Refused a request for ${path} from origin ${request.headers.get("origin")}`);
      return text(403, "Cross-origin requests are refused");
    }
    if (path === "/ws") return upgrade(request, info);
    // For a load balancer and for monitoring: no session needed, aggregate figures only.
    if (path === "/healthz") {
      const problem = ctx.unhealthy();
      return text(
        problem === undefined ? 200 : 503,
        problem === undefined ? "ok\n" : `${problem}\n`,
      );
    }
    if (path === "/metrics" && request.method === "GET") {
      return new Response(ctx.metrics(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    if (path === "/api/session" && request.method === "POST") return await login(request, info);
    if (path === "/api/session" && request.method === "DELETE") {
      const token = sessionToken(request);
      if (token !== undefined) await ctx.webSessions.revoke(token);
      return jsonReply(Reply.OK, "Logged out", { "set-cookie": sessionCookie("", secure, 0) });
    }
    const query = url.searchParams;
    if (path === "/api/files/upload" && request.method === "POST") {
      return await throughDispatch(request, info, () =>
        formatRequest("UPLOAD", [
          query.get("thread") ?? "",
          query.get("name") ?? "",
          query.get("size") ?? "",
          query.get("sha256") ?? "",
        ]));
    }
    if (path === "/api/files/download" && request.method === "GET") {
      return await throughDispatch(
        request,
        info,
        () => formatRequest("DOWNLOAD", [query.get("thread") ?? "", query.get("name") ?? ""]),
      );
    }
    if (request.method === "GET" || request.method === "HEAD") {
      const served = files.serve(path, request);
      if (served) return served;
      if (path === "/" && files.problem !== undefined) return text(503, files.problem);
    }
    return text(404, "Not found");
  };
}
