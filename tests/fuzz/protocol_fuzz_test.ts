/**
 * Property-based fuzzing (fast-check) of everything that reads untrusted input.
 */
import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { decodePacket, encodePacket, PacketType } from "../../lib/p2p/packet.ts";
import { COMMANDS } from "../../lib/protocol/commands.ts";
import { parseEvent } from "../../lib/protocol/events.ts";
import { LineSplitter } from "../../lib/protocol/line_splitter.ts";
import { ProtocolError } from "../../lib/protocol/protocol_error.ts";
import { parseReplyLine } from "../../lib/protocol/reply.ts";
import { parseRequest } from "../../lib/protocol/request.ts";
import { parseTimestamp } from "../../lib/protocol/timestamp.ts";
import { connect, expectReply, quit, registered, startTestServer } from "../helpers.ts";

const RUNS = { numRuns: 500 };

/** Request-like lines: command examples, cut, spliced and salted with odd characters. */
const requestLines = fc.tuple(
  fc.constantFrom(...COMMANDS.map((c) => c.example)),
  fc.string({ maxLength: 40 }),
  fc.nat({ max: 200 }),
  fc.constantFrom("", " ", "\t", "\u0000", "\u001b[2J", "é", "\uffff", "  "),
).map(([example, noise, cut, odd]) => {
  const base = example.slice(0, cut % (example.length + 1));
  return `${base}${odd}${noise}`;
});

Deno.test("LineSplitter: any bytes in any chunks give bounded, clean lines and never throw", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 30 }), (chunks) => {
      const splitter = new LineSplitter(64);
      for (const chunk of chunks) {
        for (const frame of splitter.push(chunk)) {
          if ("line" in frame) {
            assert(!frame.line.includes("\n") && !frame.line.includes("\u0000"));
            assert(new TextEncoder().encode(frame.line).length <= 64);
          }
        }
        assert(splitter.bufferedBytes <= 65, `buffered ${splitter.bufferedBytes}`);
      }
    }),
    RUNS,
  );
});

Deno.test("parseRequest: any string parses or fails with a ProtocolError, never anything else", () => {
  const check = (line: string) => {
    try {
      const request = parseRequest(line);
      assert(COMMANDS.includes(request.command));
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      assert(error.code === 400 || error.code === 403 || error.code === 414);
    }
  };
  fc.assert(fc.property(fc.string({ maxLength: 200 }), check), RUNS);
  fc.assert(fc.property(requestLines, check), RUNS);
});

Deno.test("reply, event and time parsers never throw on any text", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), fc.integer({ min: 0, max: 999 }), (text, code) => {
      parseReplyLine(text);
      parseEvent(code, text);
      parseTimestamp(text);
    }),
    RUNS,
  );
});

Deno.test("decodePacket: random and mutated datagrams never throw; valid ones round-trip", () => {
  const token = new Uint8Array(16).fill(7);
  const valid = encodePacket(token, {
    type: PacketType.DATA,
    transfer: 1,
    seq: 2,
    data: new Uint8Array(100),
  });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => void decodePacket(bytes)),
    RUNS,
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), {
        maxLength: 8,
      }),
      (flips) => {
        const bytes = valid.slice();
        for (const [at, value] of flips) bytes[at] = value;
        const decoded = decodePacket(bytes);
        if (decoded) assert(decoded.packet.type >= 1 && decoded.packet.type <= 10);
      },
    ),
    RUNS,
  );
  assertEquals(decodePacket(valid)?.packet.type, PacketType.DATA);
});

Deno.test("the server survives random and mutated requests and binary junk, and its data stays intact", async () => {
  await using t = await startTestServer({ requestRate: 0 });
  const owner = await registered(t.port, "owner");
  await expectReply(owner, "BROADCAST keep me", 200);
  const fuzzer = await connect(t.port);
  await expectReply(fuzzer, "REGISTER fuzzer password1", 200);
  const lines = fc.sample(requestLines, 400);
  const junk = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 4000 }), 20);
  const encoder = new TextEncoder();
  for (let i = 0; i < lines.length; i++) {
    // Never SHUTDOWN or QUIT on purpose; those are tested elsewhere and would end the run.
    if (/^(SHUTDOWN|QUIT)/i.test(lines[i].trim())) continue;
    await fuzzer.writeRaw(encoder.encode(lines[i] + "\n"));
    if (i % 20 === 0) await fuzzer.writeRaw(junk[i / 20]);
  }
  await fuzzer.writeRaw(encoder.encode("\nWHO\n"));
  await fuzzer.close();
  // The server still answers, and what was stored is intact.
  await expectReply(owner, "WHO", 200);
  const history = await expectReply(owner, "HISTORY b 01 Jan 2000", 200);
  assert(history.lines[0].endsWith("; owner; keep me"), history.lines.join("\n"));
  const again = await connect(t.port);
  await expectReply(again, "LOGIN owner owner-secret", 200, "Welcome to labchat, owner!");
  await quit(again);
  await quit(owner);
});
