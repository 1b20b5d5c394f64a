import { assertEquals, assertRejects } from "@std/assert";
import type { FrameSink } from "../../lib/server/client_host.ts";
import type { Frame } from "../../lib/protocol/line_splitter.ts";
import type { MessageSocket, SocketListener } from "../../lib/server/web/http1/raw_websocket.ts";
import { WsConnection, type WsConnectionOptions } from "../../lib/server/web/ws_connection.ts";

/** The socket side, in memory: what the connection sent, and a way to end it as a peer would. */
class MemorySocket implements MessageSocket {
  listener: SocketListener | undefined;
  readonly bufferedAmount = 0;
  readonly closeCodes: number[] = [];
  sendFrame(): void {}
  flushed(): Promise<void> {
    return Promise.resolve();
  }
  close(code = 1000): void {
    this.closeCodes.push(code);
  }
}

/** A sink whose `handle` waits until the test lets each frame go. */
class StepSink implements FrameSink {
  readonly log: string[] = [];
  readonly #release: (() => void)[] = [];
  failOn: string | undefined;
  failEnd = false;

  handle(frame: Frame): Promise<void> {
    const line = "line" in frame ? frame.line : `error ${frame.error}`;
    this.log.push(`start ${line}`);
    return new Promise((resolve, reject) => {
      this.#release.push(() => {
        this.log.push(`done ${line}`);
        if (line === this.failOn) reject(new Error(`failed on ${line}`));
        else resolve();
      });
    });
  }

  ended(error?: unknown): Promise<void> {
    this.log.push(error === undefined ? "ended" : `ended: ${(error as Error).message}`);
    return this.failEnd ? Promise.reject(new Error("logout failed")) : Promise.resolve();
  }

  /** Lets the oldest frame in hand finish, then lets the connection react. */
  async releaseOne(): Promise<void> {
    this.#release.shift()?.();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

const OPTIONS: WsConnectionOptions = {
  maxLineBytes: 1024,
  maxSendQueueBytes: 1 << 20,
  onSlowReader: () => {},
};

function connection(): { socket: MemorySocket; ws: WsConnection; sink: StepSink } {
  const socket = new MemorySocket();
  return { socket, ws: new WsConnection(socket, OPTIONS), sink: new StepSink() };
}

Deno.test("a WebSocket's messages are handled one at a time, in order", async () => {
  const { socket, ws, sink } = connection();
  const done = ws.readFrames(sink);
  socket.listener?.message("WHO");
  socket.listener?.message("TIME");
  socket.listener?.message(new Uint8Array([0xff]));
  assertEquals(sink.log, ["start WHO"]);
  await sink.releaseOne();
  assertEquals(sink.log, ["start WHO", "done WHO", "start TIME"]);
  await sink.releaseOne();
  await sink.releaseOne();
  assertEquals(sink.log.slice(4), ["start error invalid_utf8", "done error invalid_utf8"]);
  // Idle again: the next message starts at once.
  socket.listener?.message("QUIT");
  assertEquals(sink.log.at(-1), "start QUIT");
  await sink.releaseOne();
  socket.listener?.ended();
  await done;
  assertEquals(sink.log.at(-1), "ended");
});

Deno.test("a WebSocket closed while a message is handled ends its sink after that message, not during", async () => {
  const { socket, ws, sink } = connection();
  let settled = false;
  const done = ws.readFrames(sink).then(() => settled = true);
  socket.listener?.message("JOIN #lab");
  socket.listener?.message("MSG #lab hello"); // waits, and is dropped by the close
  void ws.close();
  assertEquals(socket.closeCodes, [1000]);
  await sink.releaseOne();
  assertEquals(sink.log, ["start JOIN #lab", "done JOIN #lab", "ended"]);
  await done;
  assertEquals(settled, true);
  // Closed: what still arrives is not handled, and the sink hears of the end once.
  socket.listener?.message("WHO");
  socket.listener?.ended();
  await sink.releaseOne();
  assertEquals(sink.log, ["start JOIN #lab", "done JOIN #lab", "ended"]);
});

Deno.test("a WebSocket whose handling fails ends its sink once with the error; a failed end rejects", async () => {
  const { socket, ws, sink } = connection();
  const done = ws.readFrames(sink);
  sink.failOn = "BAD";
  socket.listener?.message("BAD");
  socket.listener?.message("WHO");
  await sink.releaseOne();
  await done;
  assertEquals(sink.log, ["start BAD", "done BAD", "ended: failed on BAD"]);
  socket.listener?.message("TIME");
  socket.listener?.ended();
  await sink.releaseOne();
  assertEquals(sink.log.length, 3);

  const second = connection();
  second.sink.failEnd = true;
  const failing = second.ws.readFrames(second.sink);
  second.socket.listener?.ended();
  await assertRejects(() => failing, Error, "logout failed");
});
