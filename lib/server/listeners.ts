/**
 * The server's listening sockets, opened together before anything is served: the TCP port, the
 * IRC gateway's and the web port's. A port that cannot be had is reported with its name and the
 * flag that moves it, and the ports already opened are closed again.
 * @module
 */

import type { ServerConfig } from "../config.ts";

/** The sockets a server listens on; the IRC and web ones only when those front ends run. */
export interface Listeners {
  readonly tcp: Deno.Listener;
  readonly irc: Deno.Listener | undefined;
  readonly web: Deno.Listener | undefined;
}

/** A port this server was asked to listen on. */
export interface Port {
  /** As a person calls it: "TCP", "IRC", "web". */
  readonly name: string;
  readonly port: number;
  /** How to choose another, for the message. */
  readonly advice: string;
}

/**
 * The error of a port that cannot be listened on, retold in words (of the same class), or
 * `undefined` for an error that is not about the address.
 */
export function portError(error: unknown, hostname: string, port: Port): Error | undefined {
  const where = `${hostname}:${port.port}`;
  if (error instanceof Deno.errors.AddrInUse) {
    return new Deno.errors.AddrInUse(
      `the ${port.name} port ${where} is in use by another program (${port.advice})`,
    );
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new Deno.errors.PermissionDenied(
      `the ${port.name} port ${where} is not allowed to this user (ports below 1024 need root; ${port.advice})`,
    );
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new Deno.errors.AddrNotAvailable(
      `the ${port.name} port cannot be opened on ${hostname}: no interface of this machine has that address (--host ADDR)`,
    );
  }
  return undefined;
}

/** Listens on one port, with or without TLS, naming the port when it cannot. */
function listenOn(config: ServerConfig, port: Port): Deno.Listener {
  const address = { hostname: config.hostname, port: port.port, reusePort: config.reusePort };
  try {
    return config.tlsCert && config.tlsKey
      ? Deno.listenTls({ ...address, cert: config.tlsCert, key: config.tlsKey })
      : Deno.listen(address);
  } catch (error) {
    throw portError(error, config.hostname, port) ?? error;
  }
}

/** Opens the server's ports. */
export function openListeners(config: ServerConfig): Listeners {
  const opened: Deno.Listener[] = [];
  const open = (port: Port) => {
    const listener = listenOn(config, port);
    opened.push(listener);
    return listener;
  };
  try {
    const tcp = open({ name: "TCP", port: config.port, advice: "choose another with --port N" });
    const irc = config.irc
      ? open({
        name: "IRC",
        port: config.ircPort,
        advice: "choose another with --irc-port N, or --no-irc",
      })
      : undefined;
    const webListener = config.http
      ? open({
        name: "web",
        port: config.httpPort,
        advice: "choose another with --http-port N, or --no-http",
      })
      : undefined;
    return { tcp, irc, web: webListener };
  } catch (error) {
    for (const listener of opened) listener.close();
    throw error;
  }
}

/**
 * The host names a person elsewhere can use for a server bound to `hostname`: its own address,
 * or, bound to every interface, the machine's LAN addresses (IPv4 first); `localhost` only when
 * there are none.
 */
export function addressesToShow(
  hostname: string,
  interfaces: readonly Pick<Deno.NetworkInterfaceInfo, "family" | "address">[],
): string[] {
  if (hostname !== "0.0.0.0" && hostname !== "::") {
    return [hostname.includes(":") ? `[${hostname}]` : hostname];
  }
  const lan = (family: "IPv4" | "IPv6") =>
    interfaces.filter((i) =>
      i.family === family && !isLoopback(i.address) && !i.address.startsWith("fe80:") &&
      (family === "IPv4" || hostname === "::")
    ).map((i) => family === "IPv6" ? `[${i.address}]` : i.address);
  const found = [...new Set([...lan("IPv4"), ...lan("IPv6")])];
  return found.length > 0 ? found : ["localhost"];
}

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}
