import { assertEquals } from "@std/assert";
import { addressesToShow } from "../../lib/server/listeners.ts";

const interfaces = [
  { family: "IPv4", address: "127.0.0.1" },
  { family: "IPv6", address: "::1" },
  { family: "IPv4", address: "192.168.1.20" },
  { family: "IPv6", address: "fe80::1" },
  { family: "IPv6", address: "2001:db8::5" },
  { family: "IPv4", address: "10.0.0.5" },
] as const;

Deno.test("bound to every interface, the start-up lines show the LAN addresses people can use", () => {
  assertEquals(addressesToShow("0.0.0.0", interfaces), ["192.168.1.20", "10.0.0.5"]);
  assertEquals(addressesToShow("::", interfaces), [
    "192.168.1.20",
    "10.0.0.5",
    "[2001:db8::5]",
  ]);
  // A machine with only loopback (or whose interfaces cannot be read) falls back to localhost.
  assertEquals(addressesToShow("0.0.0.0", interfaces.slice(0, 2)), ["localhost"]);
  assertEquals(addressesToShow("0.0.0.0", []), ["localhost"]);
  // Bound to one address, that is the one to show.
  assertEquals(addressesToShow("10.0.0.5", interfaces), ["10.0.0.5"]);
  assertEquals(addressesToShow("::1", interfaces), ["[::1]"]);
});
