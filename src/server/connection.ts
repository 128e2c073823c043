// One client connection of a domain: turns transport messages into
// validated protocol messages, enforces the transaction state machine of
// docs/protocol.md §4.3, dispatches each request to its handler and keeps the
// per-connection output bounded (docs/semantics.md §10).

import { JsonError, MAX_INT64_DIGITS, decodeUtf8, parseJson } from '../protocol/json';
import type { Session } from '../core/session';
import { ProtocolError, validateMessage } from '../protocol/schema';
import type { Message } from '../protocol/schema';
import { readRequest } from '../protocol/reader';
import { encodeFail } from '../protocol/encode';
import type { MessageConnection } from '../transport/types';
import type { DomainServer } from './domain';
import { HANDLERS } from './handlers';
import { handleTrackInform } from './handlers/track';
import { releaseMemorySoon } from './memory';
import type { Job } from '../core/walk';
import type { LogLevel } from '../log/logger';
import { LineBudget, suppressedText } from '../log/rate-limit';
import type { MemoryAccount } from '../core/budget';

/**
 * Stop reading requests from a client while this much output waits for it
 * (the original stops at 128 queued messages): one big listing is answered,
 * then other clients get their turn.
 */
export const OUTPUT_HIGH_WATER = 128 << 10;
/**
 * A client that lets more than this pile up (it stopped reading while
 * notifications kept coming) is disconnected rather than let it eat the
 * board's memory.
 */
export const OUTPUT_HARD_LIMIT = 64 << 20;
/**
 * Requests handled from one chunk of a client's input before the other
 * clients get a turn: a client pipelining thousands of publishes would
 * otherwise hold the event loop for as long as its whole chunk takes
 * (libuv reads up to 32 chunks of 64 KiB per wake-up), and everybody
 * else's ping would wait behind it.
 */
export const REQUESTS_PER_TURN = 64;
/**
 * Longest stretch one request's listing or initial burst runs before the
 * other clients get a turn; the rest follows in later turns (src/core/walk.ts)
 * while this client's further requests wait, so replies keep their order.
 */
export const WORK_SLICE_MS = 5;
/**
 * Such work goes on in later turns only while less than this waits for
 * the client: a listing follows a slow reader at its pace instead of
 * piling megabytes up. Well above OUTPUT_HIGH_WATER, so that a reader
 * that keeps up never finds the socket empty between two slices.
 */
export const WORK_OUTPUT_LIMIT = 1 << 20;
/**
 * Input a connection may hold while its user (or the domain) is over its
 * memory budget: two of the largest messages a Pathfinder client sends
 * (65,535 bytes and a frame header), what pipelining legitimately leaves
 * in the framer. More than that (a frame announced far larger than any
 * Pathfinder message, trickled in) closes the connection.
 */
export const INPUT_ALLOWANCE = 2 * (65535 + 4);

export class ClientConnection {
  /** Reading paused because output piled up. */
  private paused = false;
  /** Reading paused to give other clients a turn; resumes on setImmediate. */
  private yielding = false;
  /** Requests handled since this chunk of input began (reset by a microtask). */
  private handled = 0;
  /** A request's work that goes on in later turns; reading is paused until it ends. */
  private job: Job | undefined = undefined;
  /** The job waits for the client to read what it was sent so far. */
  private jobWaitsForDrain = false;
  /**
   * Log lines about this connection's requests, by kind (made on first
   * use): a client repeating a refused request gets a few lines and a
   * count, not one line per request.
   */
  private budgets: Map<string, { budget: LineBudget; level: LogLevel }> | undefined = undefined;
  /** The user's memory account, held while the connection is open: buffers are charged to it. */
  private readonly account: MemoryAccount;
  /** Bytes of input being framed, as charged. */
  private inputCharge = 0;
  /** Bytes of output waiting, as charged (0 below OUTPUT_HIGH_WATER, see chargeOutput). */
  private outputCharge = 0;
  /** Closing or closed: charges stay as they are until releaseBuffers (one log line per close). */
  private closing = false;
  private released = false;

  constructor(
    readonly domain: DomainServer,
    readonly session: Session,
    readonly transport: MessageConnection,
  ) {
    this.account = domain.directory.budget.hold(session.user);
    transport.onMessage = (payload) => this.receive(payload);
    transport.onClose = (reason) => { this.releaseBuffers(); domain.closed(this, reason); };
    transport.onDrain = () => this.drained();
    transport.onInput = () => this.chargeInput();
    session.terminate = (reason) => this.close(reason);
  }

  /** The session's sink: every message to this client goes through here. */
  send(message: string): void {
    const transport = this.transport;
    const counters = this.domain.counters;
    counters.messagesOut++;
    if (counters.countBytesOut) counters.bytesOut += Buffer.byteLength(message);
    transport.send(message);
    const queued = transport.queuedBytes;
    if (queued >= OUTPUT_HIGH_WATER || this.outputCharge !== 0) this.chargeOutput(queued);
    if (queued >= OUTPUT_HARD_LIMIT) {
      this.domain.log.warning(`${this.domain.label}${this.session.describe()}: ${queued} bytes of output not read; closing connection`);
      this.close('output queue overflow');
      releaseMemorySoon();
    }
  }

  /**
   * Output waiting for this client, charged to its user's memory budget
   * once it is a backlog (OUTPUT_HIGH_WATER or more: the client is not
   * keeping up); a normal burst below that is left uncharged, so the hot
   * path of a send costs one comparison. A backlog that takes the user or
   * the domain over its budget closes this connection: output cannot be
   * refused, and the budget is what keeps the sum over all of a user's
   * connections bounded, not only each one (OUTPUT_HARD_LIMIT).
   */
  private chargeOutput(queued: number): void {
    if (this.closing) return;
    const charge = queued >= OUTPUT_HIGH_WATER ? queued : 0;
    const budget = this.domain.directory.budget;
    budget.adjust(this.account, 'buffers', charge - this.outputCharge);
    this.outputCharge = charge;
    if (charge === 0) return;
    const over = budget.over(this.account);
    if (over === undefined) return;
    this.domain.log.warning(`${this.domain.label}${this.session.describe()}: ${queued} bytes of output not read, over the ${budget.describe(over, this.session.user)}; closing connection`);
    this.close('output queue overflow');
    releaseMemorySoon();
  }

  /**
   * Input held by the transport until it makes up a message, charged as
   * it is (refusals see it). Beyond INPUT_ALLOWANCE while over a budget,
   * the connection is closed: partial frames of 256 KiB on each of a
   * user's connections would otherwise hold megabytes indefinitely.
   */
  private chargeInput(): void {
    if (this.closing) return;
    const pending = this.transport.bufferedInput;
    if (pending === this.inputCharge) return;
    const budget = this.domain.directory.budget;
    budget.adjust(this.account, 'buffers', pending - this.inputCharge);
    this.inputCharge = pending;
    if (pending <= INPUT_ALLOWANCE) return;
    const over = budget.over(this.account);
    if (over === undefined) return;
    this.domain.log.warning(`${this.domain.label}${this.session.describe()}: ${pending} bytes of input not yet a message, over the ${budget.describe(over, this.session.user)}; closing connection`);
    this.close('input over memory budget');
  }

  /** The connection is gone: whatever its buffers held is no longer charged. */
  private releaseBuffers(): void {
    if (this.released) return;
    this.released = true;
    this.closing = true;
    const budget = this.domain.directory.budget;
    budget.adjust(this.account, 'buffers', -(this.inputCharge + this.outputCharge));
    this.inputCharge = 0;
    this.outputCharge = 0;
    budget.unhold(this.account);
  }

  close(reason: string): void {
    this.closing = true;
    this.transport.close(reason);
  }

  /**
   * Logs `text` about this client's request (prefixed with the domain and
   * the client), at most LOG_BURST lines of one `kind` per LOG_WINDOW_S;
   * the rest are counted and reported in one summary line when the next
   * line of that kind comes after the window, or at the close.
   */
  logRequest(level: LogLevel, kind: string, text: string): void {
    const log = this.domain.log;
    if (!log.enabled(level)) return;
    const now = this.domain.clock.now();
    this.budgets ??= new Map();
    let entry = this.budgets.get(kind);
    if (entry === undefined) this.budgets.set(kind, entry = { budget: new LineBudget(), level });
    const budget = entry.budget;
    const summary = budget.summary(now);
    if (summary !== undefined) log.log(level, `${this.domain.label}${this.session.describe()}: ${kind}: ${suppressedText(summary)}`);
    if (budget.take(now)) log.log(level, `${this.domain.label}${this.session.describe()}: ${text}`);
  }

  /** Summary lines for whatever logRequest still holds back (the connection is gone). */
  flushLogSummaries(): void {
    if (this.budgets === undefined) return;
    const now = this.domain.clock.now();
    for (const [kind, { budget, level }] of this.budgets) {
      const summary = budget.summary(now, true);
      if (summary !== undefined) this.domain.log.log(level, `${this.domain.label}${this.session.describe()}: ${kind}: ${suppressedText(summary)}`);
    }
  }

  private receive(payload: Buffer): void {
    const session = this.session;
    if (session.closed) return;
    const counters = this.domain.counters;
    counters.messagesIn++;
    counters.bytesIn += payload.length;
    let msg: Message;
    // Reception time is what `clients` reports as idle, and what liveness
    // re-arms from after the handler (one clock read per message).
    const received = session.handshaked ? this.domain.clock.now() : undefined;
    if (received !== undefined) session.lastSeen = received;
    try {
      const version = session.version ?? 2;
      // The fast path takes what clients normally send; anything else
      // (and every error) goes the general way (src/protocol/reader.ts).
      msg = readRequest(payload, version)
        ?? validateMessage(parseJson(decodeUtf8(payload), undefined, MAX_INT64_DIGITS), version, 'to-server');
      this.dispatch(msg);
    } catch (err) {
      if (err instanceof ProtocolError || err instanceof JsonError) {
        // The close is logged (with this reason) by the domain: one line.
        this.close(`protocol error: ${(err as Error).message}`);
      } else {
        // A bug of ours must not take down the server: drop this client only.
        this.domain.log.error(`${this.domain.label}${session.describe()}: internal error: ${(err as Error).stack ?? err}; closing connection`);
        this.close('internal error');
      }
      return;
    }
    // After a hello that just completed (no reception time read), activity reads the clock.
    if (session.handshaked && !session.closed) this.domain.liveness.activity(session, received);
    this.domain.reschedule();
    this.chargeInput();
    this.checkOutput();
    this.takeTurns();
  }

  /** The count starts over after the job that read a chunk (made once: no closure per chunk). */
  private readonly endOfJob = (): void => { if (!this.yielding) this.handled = 0; };

  /** Fairness between clients: see REQUESTS_PER_TURN. */
  private takeTurns(): void {
    if (this.handled++ === 0) queueMicrotask(this.endOfJob);
    if (this.handled < REQUESTS_PER_TURN || this.yielding || this.session.closed) return;
    this.yielding = true;
    this.transport.pause();
    setImmediate(() => {
      this.yielding = false;
      this.handled = 0;
      this.resumeIfFree();
    });
  }

  /**
   * Runs a request's work (a listing, an initial burst) a time slice per
   * turn: the first slice now, the rest from setImmediate, waiting while
   * WORK_OUTPUT_LIMIT of output is unread. No further request of
   * this client is read before the work is done (docs/protocol.md §4.4).
   */
  runInTurns(job: Job): void {
    if (job.step(this.domain.slice.begin())) return;
    this.job = job;
    this.transport.pause();
    setImmediate(() => this.continueJob());
  }

  private continueJob(): void {
    const job = this.job;
    if (job === undefined) return;
    if (this.session.closed) { this.job = undefined; return; }
    if (this.transport.queuedBytes >= WORK_OUTPUT_LIMIT) { this.jobWaitsForDrain = true; return; }
    // The client reads what its request produces (or the job would wait
    // above) while its own messages wait unread behind the job: it is
    // alive, and must not be idled out for a long listing.
    this.domain.liveness.activity(this.session);
    this.domain.reschedule();
    if (!job.step(this.domain.slice.begin())) {
      setImmediate(() => this.continueJob());
      return;
    }
    this.job = undefined;
    this.checkOutput();
    this.resumeIfFree();
  }

  private resumeIfFree(): void {
    if (!this.paused && !this.yielding && this.job === undefined && !this.session.closed) this.transport.resume();
  }

  /** The transaction state machine (docs/protocol.md §4.3) and the handler table. */
  private dispatch(msg: Message): void {
    const session = this.session;
    if (msg.type === 'inform') {
      // Only a track transaction takes informs (validateMessage allows inform only for track).
      if (session.open.get(msg.taId) !== 'track') throw new ProtocolError(`inform for transaction ${msg.taId}, which is not an open track transaction`);
      const track = session.track;
      const queried = track?.querySentAt !== undefined;
      handleTrackInform(this, msg);
      // A reply to our query just measured the round trip.
      if (queried && track!.querySentAt === undefined && track!.latency !== undefined) this.domain.counters.observeRtt(track!.latency);
      return;
    }
    if (session.open.has(msg.taId)) throw new ProtocolError(`request reuses the id ${msg.taId} of an open transaction`);
    if (!session.handshaked && msg.cmd !== 'hello') {
      this.logRequest('info', 'no-hello', `${msg.cmd} before hello refused: no-hello`);
      session.send(encodeFail(msg.cmd, msg.taId, 'no-hello'));
      return;
    }
    HANDLERS[msg.cmd](this, msg);
  }

  /** Flow control: pause reading while output piles up (the hard limit is enforced in send). */
  private checkOutput(): void {
    if (this.transport.queuedBytes >= OUTPUT_HIGH_WATER && !this.paused) {
      this.paused = true;
      if (!this.yielding) this.transport.pause();
    }
  }

  private drained(): void {
    if (this.outputCharge !== 0) this.chargeOutput(this.transport.queuedBytes);
    if (this.transport.queuedBytes >= OUTPUT_HIGH_WATER) return;
    if (this.jobWaitsForDrain) {
      this.jobWaitsForDrain = false;
      setImmediate(() => this.continueJob());
    }
    if (this.paused) {
      this.paused = false;
      this.resumeIfFree();
    }
  }
}
