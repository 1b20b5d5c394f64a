/**
 * A connection's read buffer, sized by what the peer sends: small while it chats, large while it
 * sends in bulk. Every open connection holds one for its pending read, so the small size is what
 * thousands of idle clients cost (0.5 KiB each rather than 2); a client that pastes or pipes
 * lines fills the small one, and gets the large one until it has gone back to short reads.
 * @module
 */

/** Bytes of the buffer an idle or chatting connection reads into. */
export const SMALL_READ_BYTES = 512;
/**
 * Bytes of the buffer a connection that sends in bulk reads into. A client can make its next read
 * a large one and then go quiet, so this is what each connection may cost at worst: no more than
 * the longest line it may leave half sent (8 KiB by default).
 */
export const LARGE_READ_BYTES = 8 * 1024;
/** Reads in a row that would have fitted the small buffer before the large one is let go. */
const SHORT_READS_TO_SHRINK = 32;

/** See the module documentation. */
export class ReadBuffer {
  #bytes = new Uint8Array(SMALL_READ_BYTES);
  #shortReads = 0;

  /** The buffer to read into next. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /**
   * Notes that a read returned `n` bytes into {@linkcode bytes}; the buffer for the next read may
   * be another one, so the caller is done with these bytes (it copies what it keeps).
   */
  filled(n: number): void {
    const large = this.#bytes.length === LARGE_READ_BYTES;
    if (!large) {
      if (n === this.#bytes.length) {
        this.#bytes = new Uint8Array(LARGE_READ_BYTES);
        this.#shortReads = 0;
      }
      return;
    }
    this.#shortReads = n <= SMALL_READ_BYTES ? this.#shortReads + 1 : 0;
    if (this.#shortReads >= SHORT_READS_TO_SHRINK) this.#bytes = new Uint8Array(SMALL_READ_BYTES);
  }
}
