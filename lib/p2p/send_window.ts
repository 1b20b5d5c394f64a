/**
 * The sender's side of the reliable transfer, without I/O: which chunks to send or resend, and
 * how fast. Rate-based, in the spirit of BBR: the sender estimates the bottleneck bandwidth (the
 * highest recent delivery rate) and the minimum round-trip time, paces at that rate and keeps
 * about two bandwidth-delay products in flight. A lost chunk is resent, but loss does not lower
 * the rate: on a lab LAN or Wi-Fi it is mostly random, not a full queue. Losses are found from the
 * receiver's bitmap of received chunks the way RACK does (a chunk sent well before one that has
 * arrived is lost), with a retransmission timer (RFC 6298) for the tail.
 * @module
 */

/**
 * How far past the first unacknowledged chunk a sender goes (chunks), by default: receivers hold
 * their acknowledgements back so that this much always has room with them (file_receiver.ts).
 */
export const SEND_SPAN = 4096;

/** Tuning of the send window. */
export interface SendWindowOptions {
  /** How far past the first unacknowledged chunk the receiver buffers (chunks). */
  readonly maxSpan?: number;
  readonly minRtoMs?: number;
  readonly maxRtoMs?: number;
  /** Pacing rate before the first delivery-rate sample, in chunks per millisecond. */
  readonly initialRate?: number;
  /** Chunks below this were delivered before (a resumed transfer). */
  readonly firstChunk?: number;
}

/** The phases of the rate controller. */
export type SendMode = "startup" | "drain" | "probe_bw";

const STARTUP_GAIN = 2.885; // 2/ln 2: doubles the delivery rate every round
/** ProbeBW: one phase above the estimate to find more bandwidth, one below to drain the queue. */
const CYCLE_GAINS = [1.25, 0.75, 1, 1, 1, 1, 1, 1];
const CWND_GAIN = 2;
/** Slowest pacing, chunks per ms (about 140 KB/s). */
const MIN_RATE = 0.1;
/** Fewest chunks allowed in flight, so a slow start or a tiny RTT never stalls the transfer. */
const MIN_CWND = 64;
/**
 * Time added to the minimum RTT when sizing the window: acknowledgements come in batches (the
 * receiver acknowledges every few chunks, and event loops on both ends run in turns), so on a LAN
 * whose RTT is tens of microseconds, two bandwidth-delay products alone would starve the pacer.
 * Pacing, not the window, keeps the queue short.
 */
const ACK_SLACK_MS = 4;
/** The bandwidth estimate is the highest sample of the last 10 rounds and at least this long. */
const BW_WINDOW_MS = 100;
const BW_WINDOW_ROUNDS = 10;
/** A phase of the probe cycle lasts one minimum RTT, but not less than this. */
const MIN_PHASE_MS = 4;
/** Delivery-rate samples over intervals shorter than this are too noisy to use. */
const MIN_SAMPLE_MS = 1;
/**
 * The retransmission timer's floor. It runs only while nothing at all is acknowledged (RACK finds
 * the holes loss leaves before it), so it is for the tail of a transfer and for a stalled peer:
 * lower, and a receiver's garbage collection or a slow disk write reads as the loss of everything
 * in flight, and resending all of it buries the receiver in duplicates.
 */
const MIN_RTO_MS = 60;
/**
 * Tail loss probe (RFC 8985 section 7): once everything has been sent, the newest chunk in flight
 * is sent again after two smoothed RTTs plus the receiver's delayed-ACK time without progress, but
 * not sooner than this. Its acknowledgement lets RACK find a lost tail at once, where the
 * retransmission timer's floor would hold the transfer's end for 60 ms. A probe is one datagram,
 * so one sent early (the receiver was collecting garbage) costs nothing like a timer's resend of
 * everything in flight.
 */
const MIN_PROBE_MS = 10;
/** The receiver's longest delay before acknowledging (file_receiver's ACK_DELAY_MS), with slack. */
const PROBE_ACK_DELAY_MS = 4;
/** The minimum RTT is forgotten after this long, so a changed path is noticed. */
const MIN_RTT_WINDOW_MS = 10_000;

const NOT_SENT = 0;
const IN_FLIGHT = 1;
const LOST = 2;
const ACKED = 3;

/** A first-in, first-out queue of numbers that reuses its storage. */
class NumberQueue {
  #items: number[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(value: number): void {
    this.#items.push(value);
  }

  peek(): number {
    return this.#items[this.#head];
  }

  shift(): number {
    const value = this.#items[this.#head++];
    if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return value;
  }
}

/** Tracks one transfer of `total` chunks. */
export class SendWindow {
  readonly total: number;
  readonly #span: number;
  readonly #minRto: number;
  readonly #maxRto: number;
  // Per-chunk state in rings indexed by seq % span: only [base, base + span) is ever live.
  readonly #state: Uint8Array;
  readonly #resent: Uint8Array;
  readonly #sentAt: Float64Array;
  readonly #deliveredAtSend: Float64Array;
  readonly #deliveredTimeAtSend: Float64Array;
  readonly #firstSentAtSend: Float64Array;
  /** Chunks in the order they were (re)sent, for RACK; stale entries are skipped. */
  readonly #sendOrder = new NumberQueue();
  readonly #lostQueue = new NumberQueue();
  #base: number;
  #nextNew: number;
  #inFlight = 0;
  #ackedCount = 0;
  #retransmissions = 0;
  #sent = 0;
  // Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation).
  #delivered = 0;
  #deliveredTime = 0;
  #firstSentTime = 0;
  // Rounds: one ends when a chunk sent after the previous end is delivered.
  #round = 0;
  #nextRoundDelivered = 0;
  #roundMax = 0;
  #phaseStart = 0;
  /** Send time of the latest-sent chunk known delivered (RACK). */
  #rackSentAt = -Infinity;
  readonly #bwSamples: { round: number; at: number; rate: number }[] = [];
  #btlBw = 0;
  #fullBw = 0;
  #fullBwRounds = 0;
  #mode: SendMode = "startup";
  #cycleIndex = 0;
  #minRtt = Infinity;
  #minRttAt = 0;
  #srtt: number | undefined;
  #rttvar = 0;
  #rto = 200;
  #backoff = 1;
  /** When an acknowledgement last delivered something new (the timer restarts then). */
  #progressAt = -Infinity;
  /** When the retransmission timer last ran out (it restarts then, backed off). */
  #expiredAt = -Infinity;
  /**
   * Lost chunks that may go even though the window is full: the one a timeout or a tail probe
   * sends again (the rest still count as in flight, and an estimate dragged down by the stall may
   * have shrunk the window below them).
   */
  #pastWindow = 0;
  /** When a chunk was last sent. */
  #lastSentAt = -Infinity;
  /** Whether the tail has been probed since the last progress. */
  #probed = false;
  readonly #initialRate: number;
  /** Set by {@linkcode due} when the window, not the pacing, held chunks back. */
  #windowLimited = false;

  constructor(total: number, options: SendWindowOptions = {}) {
    this.total = total;
    this.#span = Math.max(MIN_CWND, options.maxSpan ?? SEND_SPAN);
    this.#minRto = options.minRtoMs ?? MIN_RTO_MS;
    this.#maxRto = options.maxRtoMs ?? 2000;
    this.#initialRate = options.initialRate ?? 8;
    this.#base = Math.min(total, Math.max(0, options.firstChunk ?? 0));
    this.#nextNew = this.#base;
    this.#state = new Uint8Array(this.#span);
    this.#resent = new Uint8Array(this.#span);
    this.#sentAt = new Float64Array(this.#span);
    this.#deliveredAtSend = new Float64Array(this.#span);
    this.#deliveredTimeAtSend = new Float64Array(this.#span);
    this.#firstSentAtSend = new Float64Array(this.#span);
  }

  /** All chunks acknowledged. */
  get done(): boolean {
    return this.#base >= this.total;
  }

  /** The first chunk not yet acknowledged. */
  get base(): number {
    return this.#base;
  }

  /** Chunks acknowledged by this window (not counting a resumed transfer's first part). */
  get ackedCount(): number {
    return this.#ackedCount;
  }

  /** Current retransmission timeout, ms. */
  get rto(): number {
    return Math.min(this.#maxRto, this.#rto * this.#backoff);
  }

  /** Smoothed RTT, ms (undefined before the first sample). */
  get srtt(): number | undefined {
    return this.#srtt;
  }

  /** Lowest RTT seen recently, ms (Infinity before the first sample). */
  get minRtt(): number {
    return this.#minRtt;
  }

  /** Estimated bottleneck bandwidth, chunks per ms (0 before the first sample). */
  get bandwidth(): number {
    return this.#btlBw;
  }

  get mode(): SendMode {
    return this.#mode;
  }

  /** Most chunks allowed in flight now. */
  get window(): number {
    if (this.#btlBw === 0 || !Number.isFinite(this.#minRtt)) {
      return Math.min(this.#span, 4 * MIN_CWND);
    }
    const gain = this.#mode === "startup" ? STARTUP_GAIN : CWND_GAIN;
    const bdp = this.#btlBw * (this.#minRtt + ACK_SLACK_MS);
    return Math.min(this.#span, Math.max(MIN_CWND, Math.ceil(gain * bdp)));
  }

  /** The rate to send at now, chunks per ms. */
  get pacingRate(): number {
    if (this.#btlBw === 0) return this.#initialRate;
    const gain = this.#mode === "startup"
      ? STARTUP_GAIN
      : this.#mode === "drain"
      ? 1 / STARTUP_GAIN
      : CYCLE_GAINS[this.#cycleIndex];
    // A floor: an estimate dragged down by a stalled peer must not starve the samples that
    // would raise it again (nothing sent, nothing acknowledged, the transfer given up).
    return Math.max(MIN_RATE, gain * this.#btlBw);
  }

  /** At most how many chunks are left to send (new ones, and ones found lost). */
  get pending(): number {
    return this.total - this.#nextNew + this.#lostQueue.size;
  }

  /** Whether the last {@linkcode due} was held back by the window (an ACK will free it). */
  get windowLimited(): boolean {
    return this.#windowLimited;
  }

  get retransmissions(): number {
    return this.#retransmissions;
  }

  /** Datagrams of data sent, first sends and resends. */
  get sent(): number {
    return this.#sent;
  }

  /**
   * Up to `budget` chunks to send now: chunks found lost first, then new ones, while the window
   * allows. The caller sends them at once and calls {@linkcode markSent} for each.
   */
  due(now: number, budget: number): number[] {
    this.#checkTimer(now);
    const out: number[] = [];
    const window = this.window;
    this.#windowLimited = false;
    while (out.length < budget && this.#lostQueue.size > 0) {
      const full = this.#inFlight + out.length >= window;
      if (full && this.#pastWindow === 0) {
        this.#windowLimited = true;
        return out;
      }
      const seq = this.#lostQueue.shift();
      if (this.#state[seq % this.#span] === LOST && seq >= this.#base) {
        out.push(seq);
        if (full) this.#pastWindow--;
      }
    }
    const limit = Math.min(this.total, this.#base + this.#span);
    while (out.length < budget && this.#nextNew < limit) {
      if (this.#inFlight + out.length >= window) {
        this.#windowLimited = true;
        break;
      }
      out.push(this.#nextNew++);
    }
    if (this.#nextNew >= limit && this.#nextNew < this.total) this.#windowLimited = true;
    return out;
  }

  /**
   * Whether chunk `seq`, handed out by {@linkcode due}, still needs sending: an acknowledgement
   * that arrived meanwhile (while the caller read the file) may have delivered it.
   */
  stillDue(seq: number): boolean {
    if (seq < this.#base || seq >= this.#nextNew) return false;
    const state = this.#state[seq % this.#span];
    return state === LOST || state === NOT_SENT;
  }

  /**
   * Records that a chunk went out at `now`. A chunk that is not {@linkcode stillDue} changes
   * nothing: its slot may already belong to the chunk a span later.
   */
  markSent(seq: number, now: number): void {
    if (!this.stillDue(seq)) return;
    const i = seq % this.#span;
    if (this.#state[i] === LOST) {
      this.#retransmissions++;
      this.#resent[i] = 1;
    } else {
      this.#resent[i] = 0;
    }
    if (this.#inFlight === 0) this.#firstSentTime = this.#deliveredTime = now;
    this.#state[i] = IN_FLIGHT;
    this.#sentAt[i] = now;
    this.#deliveredAtSend[i] = this.#delivered;
    this.#deliveredTimeAtSend[i] = this.#deliveredTime;
    this.#firstSentAtSend[i] = this.#firstSentTime;
    this.#inFlight++;
    this.#sent++;
    this.#lastSentAt = now;
    this.#sendOrder.push(seq);
  }

  /**
   * Applies an acknowledgement: every chunk below `next`, and chunk `next + 1 + i` for each bit i
   * set in `received`. Calls `onAcked` for each chunk newly acknowledged; returns how many.
   * Chunks never sent are ignored, so a lying receiver cannot skip data.
   */
  onAck(
    next: number,
    received: Uint8Array,
    now: number,
    onAcked?: (seq: number) => void,
  ): number {
    let newly = 0;
    let newestIndex = -1;
    const ack = (seq: number) => {
      if (seq < this.#base || seq >= this.#nextNew) return;
      const i = seq % this.#span;
      const state = this.#state[i];
      if (state === ACKED || state === NOT_SENT) return;
      if (state === IN_FLIGHT) this.#inFlight--;
      this.#state[i] = ACKED;
      this.#ackedCount++;
      this.#delivered++;
      newly++;
      onAcked?.(seq);
      const sentAt = this.#sentAt[i];
      if (newestIndex < 0 || sentAt > this.#sentAt[newestIndex]) newestIndex = i;
      if (sentAt > this.#rackSentAt) this.#rackSentAt = sentAt;
      // Karn: only chunks sent exactly once give an RTT sample.
      if (!this.#resent[i]) this.#sampleRtt(now - sentAt, now);
    };
    const cumulative = Math.min(next, this.#nextNew);
    for (let seq = this.#base; seq < cumulative; seq++) ack(seq);
    for (let byte = 0; byte < received.length; byte++) {
      const bits = received[byte];
      if (bits === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        if (bits & (1 << bit)) ack(next + 1 + byte * 8 + bit);
      }
    }
    while (this.#base < this.#nextNew && this.#state[this.#base % this.#span] === ACKED) {
      this.#state[this.#base % this.#span] = NOT_SENT;
      this.#base++;
    }
    if (newly > 0) {
      this.#backoff = 1;
      this.#progressAt = now;
      this.#probed = false;
      this.#deliveredTime = now;
      this.#sampleRate(newestIndex, now);
      this.#detectLosses();
    }
    return newly;
  }

  /** Milliseconds until the retransmission timer of the oldest chunk in flight runs out. */
  nextTimeout(now: number): number {
    const oldest = this.#oldestInFlight();
    if (oldest < 0) return this.rto;
    return Math.max(0.5, Math.min(this.#timerStart(oldest) + this.rto, this.#probeAt()) - now);
  }

  /** When the tail is to be probed, or Infinity while there is no tail to probe. */
  #probeAt(): number {
    if (this.#probed || this.#nextNew < this.total || this.#inFlight === 0) return Infinity;
    if (this.#srtt === undefined) return Infinity;
    const pto = Math.max(MIN_PROBE_MS, 2 * this.#srtt + PROBE_ACK_DELAY_MS);
    return Math.max(this.#lastSentAt, this.#progressAt) + pto;
  }

  /** Sends the newest chunk in flight again (once per stall), if the probe is due. */
  #checkProbe(now: number): void {
    if (now < this.#probeAt()) return;
    this.#probed = true;
    for (let seq = this.#nextNew - 1; seq >= this.#base; seq--) {
      const i = seq % this.#span;
      if (this.#state[i] !== IN_FLIGHT) continue;
      // Its entry in the send order stays: an entry whose chunk is no longer in flight is
      // skipped, and the resend adds one of its own.
      this.#state[i] = LOST;
      this.#inFlight--;
      this.#lostQueue.push(seq);
      this.#pastWindow = 1;
      return;
    }
  }

  /** The oldest chunk in flight (dropping stale entries of the send order), or -1. */
  #oldestInFlight(): number {
    while (this.#sendOrder.size > 0) {
      const seq = this.#sendOrder.peek();
      if (seq >= this.#base && this.#state[seq % this.#span] === IN_FLIGHT) return seq;
      this.#sendOrder.shift();
    }
    return -1;
  }

  #markLost(seq: number): void {
    this.#state[seq % this.#span] = LOST;
    this.#inFlight--;
    this.#lostQueue.push(seq);
    this.#sendOrder.shift();
  }

  /** RACK: chunks sent a reordering window before a delivered one are lost. */
  #detectLosses(): void {
    const reorder = Math.min(
      5,
      Math.max(0.05, (Number.isFinite(this.#minRtt) ? this.#minRtt : 1) / 4),
    );
    for (let seq = this.#oldestInFlight(); seq >= 0; seq = this.#oldestInFlight()) {
      if (this.#sentAt[seq % this.#span] + reorder >= this.#rackSentAt) break;
      this.#markLost(seq);
    }
  }

  /**
   * When chunk `seq`'s timer started: when it was sent, or later if an acknowledgement has
   * delivered something since (RFC 6298 5.3) or the timer ran out since (5.6). While the receiver
   * keeps acknowledging, a queue that delays it is not taken for loss (RACK finds real holes); the
   * timer is for a stalled peer and the tail.
   */
  #timerStart(seq: number): number {
    return Math.max(this.#sentAt[seq % this.#span], this.#progressAt, this.#expiredAt);
  }

  /**
   * The timer ran out: the oldest chunk in flight is sent again, and the timer backs off and
   * restarts (RFC 6298 5.4-5.6). The rest stay in flight. When the receiver had only paused (its
   * garbage collection, a slow disk: 60 ms is short), its acknowledgements then deliver them and
   * nothing more is resent, where taking them all for lost resent the whole window (4096 chunks,
   * in loopback transfers whose receiver fell behind); when they were lost, the resent chunk's
   * acknowledgement lets RACK find them at once.
   */
  #checkTimer(now: number): void {
    const oldest = this.#oldestInFlight();
    if (oldest >= 0 && now - this.#timerStart(oldest) >= this.rto) {
      this.#markLost(oldest);
      this.#pastWindow = 1;
      this.#backoff = Math.min(this.#backoff * 2, 64);
      this.#expiredAt = now;
    }
    this.#checkProbe(now);
  }

  #sampleRtt(sample: number, now: number): void {
    if (sample < this.#minRtt || now - this.#minRttAt > MIN_RTT_WINDOW_MS) {
      this.#minRtt = sample;
      this.#minRttAt = now;
    }
    if (this.#srtt === undefined) {
      this.#srtt = sample;
      this.#rttvar = sample / 2;
    } else {
      this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - sample);
      this.#srtt = 0.875 * this.#srtt + 0.125 * sample;
    }
    this.#rto = Math.max(this.#minRto, Math.min(this.#maxRto, this.#srtt + 4 * this.#rttvar));
  }

  /** Counts deliveries; every SAMPLE_MS, a delivery-rate sample and the model's update. */
  /** One delivery-rate sample from the newest chunk this ACK delivered, then the model update. */
  #sampleRate(i: number, now: number): void {
    // The interval is the longer of the send and the ACK intervals of the chunks delivered
    // meanwhile, so a burst of late ACKs cannot make the link look faster than it was fed.
    const sendElapsed = this.#sentAt[i] - this.#firstSentAtSend[i];
    const ackElapsed = now - this.#deliveredTimeAtSend[i];
    const interval = Math.max(sendElapsed, ackElapsed);
    this.#firstSentTime = this.#sentAt[i];
    if (interval >= MIN_SAMPLE_MS) {
      const rate = (this.#delivered - this.#deliveredAtSend[i]) / interval;
      if (rate > this.#roundMax) this.#roundMax = rate;
    }
    if (this.#deliveredAtSend[i] >= this.#nextRoundDelivered) {
      this.#nextRoundDelivered = this.#delivered;
      this.#endRound(now);
    }
    if (this.#mode === "drain") {
      const bdp = this.#btlBw * (Number.isFinite(this.#minRtt) ? this.#minRtt : 1);
      if (this.#inFlight <= Math.max(MIN_CWND, bdp)) {
        this.#mode = "probe_bw";
        this.#cycleIndex = 0;
        this.#phaseStart = now;
      }
    } else if (this.#mode === "probe_bw" && now - this.#phaseStart >= this.#phaseMs()) {
      this.#cycleIndex = (this.#cycleIndex + 1) % CYCLE_GAINS.length;
      this.#phaseStart = now;
    }
  }

  #phaseMs(): number {
    return Math.max(MIN_PHASE_MS, Number.isFinite(this.#minRtt) ? this.#minRtt : 0);
  }

  /**
   * This host's interface queue was full: the estimate is above what the link takes. It comes
   * down by a tenth (and its samples with it, so the maximum does not bring it back), and the
   * queue is drained as after a probe. Random loss on the way lowers nothing: only this does.
   */
  onQueueFull(now: number): void {
    if (this.#btlBw === 0) return;
    this.#btlBw *= 0.95;
    for (const sample of this.#bwSamples) sample.rate = Math.min(sample.rate, this.#btlBw);
    this.#roundMax = Math.min(this.#roundMax, this.#btlBw);
    if (this.#mode === "startup") {
      this.#mode = "drain";
    } else if (this.#mode === "probe_bw") {
      this.#cycleIndex = CYCLE_GAINS.indexOf(0.75);
      this.#phaseStart = now;
    }
  }

  /** A round ended: the windowed maximum of the rounds' best samples, and startup's exit. */
  #endRound(now: number): void {
    this.#round++;
    if (this.#roundMax > 0) {
      this.#bwSamples.push({ round: this.#round, at: now, rate: this.#roundMax });
    }
    this.#roundMax = 0;
    while (
      this.#bwSamples.length > 1 &&
      this.#bwSamples[0].round <= this.#round - BW_WINDOW_ROUNDS &&
      this.#bwSamples[0].at < now - BW_WINDOW_MS
    ) this.#bwSamples.shift();
    let max = 0;
    for (const sample of this.#bwSamples) max = Math.max(max, sample.rate);
    if (max > 0) this.#btlBw = max;
    if (this.#mode === "startup") {
      if (this.#btlBw >= this.#fullBw * 1.25) {
        this.#fullBw = this.#btlBw;
        this.#fullBwRounds = 0;
      } else if (++this.#fullBwRounds >= 3) {
        this.#mode = "drain";
      }
    }
  }
}
