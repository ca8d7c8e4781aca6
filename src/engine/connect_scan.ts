/**
 * The connect-scan scheduler: walks the (host, port) permutation, keeps as
 * many attempts in flight as the congestion window allows, times them out
 * from measured round trips, retries the silent ones, and reports each
 * port's verdict once. The transport does the I/O.
 *
 * @module
 */

import type { Host } from "../targets/types.ts";
import type { Attempt, Completion, ConnectOutcome, ConnectTransport } from "./connect_types.ts";
import { DeadlineHeap } from "./deadline_heap.ts";
import { createPermutation } from "./permutation.ts";
import { CongestionWindow, RateLimiter, RttEstimator } from "./timing.ts";
import type { EngineSink, EngineStats, PortResult, ResumePoint, ScanPlan } from "./types.ts";

/** Options of {@link runConnectScan}. */
export interface ConnectScanOptions {
  signal?: AbortSignal;
  /** After an abort, how long to wait for answers to probes in flight, ms (default 1000). */
  drainMs?: number;
  /** Probes in flight at the start (default 64). */
  initialWindow?: number;
}

/** How often the scheduler hands control back to the event loop. */
const YIELD_EVERY_MS = 20;
/** How often progress is reported. */
const PROGRESS_EVERY_MS = 100;
/** How often a resume point is reported. */
const CHECKPOINT_EVERY_MS = 1000;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Walks a plan's probe space in permutation order (or host-major order when
 * `plan.sequential`), yielding (host index, port) pairs.
 */
export class ProbeOrder {
  readonly total: bigint;
  #plan: ScanPlan;
  #portCount: number;
  #next = 0n;
  #nextNumber = 0;
  #useNumber: boolean;
  #atNumber: ((index: number) => number) | undefined;
  #at: ((index: bigint) => bigint) | undefined;
  #cachedIndex = -1n;
  #cachedHost: Host | undefined;
  #done: ReadonlySet<number>;
  #onSkip: ((index: number) => void) | undefined;
  #shardIndex: bigint;
  #shardCount: bigint;

  constructor(plan: ScanPlan, options: { onSkip?: (index: number) => void } = {}) {
    this.#plan = plan;
    this.#onSkip = options.onSkip;
    this.#done = new Set(plan.resume?.done ?? []);
    this.#portCount = plan.ports.length;
    const space = plan.targets.size * BigInt(this.#portCount);
    const shard = plan.shard ?? { index: 0, count: 1 };
    if (
      !Number.isInteger(shard.index) || !Number.isInteger(shard.count) || shard.count < 1 ||
      shard.index < 0 || shard.index >= shard.count
    ) {
      throw new RangeError(`Cannot use shard ${shard.index}/${shard.count}: index out of range`);
    }
    this.#shardIndex = BigInt(shard.index);
    this.#shardCount = BigInt(shard.count);
    // Position i of this shard is position i * count + index of the whole order.
    this.total = space <= this.#shardIndex
      ? 0n
      : (space - this.#shardIndex - 1n) / this.#shardCount + 1n;
    this.#useNumber = space <= BigInt(Number.MAX_SAFE_INTEGER);
    if (!plan.sequential && space > 1n) {
      const permutation = createPermutation(space, { seed: plan.seed });
      if (this.#useNumber) this.#atNumber = (i) => permutation.atNumber(i);
      else this.#at = (i) => permutation.at(i);
    }
    if (plan.resume !== undefined) {
      if (!this.#useNumber) {
        throw new RangeError("Cannot resume a scan of more than 2^53 probes");
      }
      this.#nextNumber = plan.resume.next;
    }
  }

  /**
   * The next pair with its position in the order, or undefined when the
   * space is exhausted. Positions already done (resume) are passed over;
   * pairs of filtered-out hosts are passed over and reported to `onSkip`.
   */
  next(): { index: number; hostIndex: bigint; host: Host; port: number } | undefined {
    const portCount = this.#portCount;
    for (;;) {
      let hostIndex: bigint;
      let portIndex: number;
      let index: number;
      if (this.#useNumber) {
        if (this.#nextNumber >= Number(this.total)) return undefined;
        index = this.#nextNumber++;
        if (this.#done.has(index)) continue;
        const position = this.#shardCount === 1n
          ? index
          : index * Number(this.#shardCount) + Number(this.#shardIndex);
        const flat = this.#atNumber ? this.#atNumber(position) : position;
        hostIndex = BigInt(Math.floor(flat / portCount));
        portIndex = flat % portCount;
      } else {
        if (this.#next >= this.total) return undefined;
        const i = this.#next++;
        // Past 2^53 positions are not exact, and not needed: such scans cannot resume.
        index = Number(i);
        const position = i * this.#shardCount + this.#shardIndex;
        const flat = this.#at ? this.#at(position) : position;
        hostIndex = flat / BigInt(portCount);
        portIndex = Number(flat % BigInt(portCount));
      }
      if (this.#plan.hostFilter && !this.#plan.hostFilter(hostIndex)) {
        this.#onSkip?.(index);
        continue;
      }
      if (hostIndex !== this.#cachedIndex || this.#cachedHost === undefined) {
        this.#cachedHost = this.#plan.targets.at(hostIndex);
        this.#cachedIndex = hostIndex;
      }
      return { index, hostIndex, host: this.#cachedHost, port: this.#plan.ports[portIndex]! };
    }
  }
}

/**
 * Which positions of the probe order are finished, as a low-water mark and
 * the finished positions above it (few: about a window's worth).
 */
export class CompletionTracker {
  #next: number;
  #above = new Set<number>();

  constructor(resume?: ResumePoint) {
    this.#next = resume?.next ?? 0;
    for (const index of resume?.done ?? []) if (index >= this.#next) this.#above.add(index);
    this.#advance();
  }

  /** Mark `index` finished. */
  complete(index: number): void {
    if (index < this.#next) return;
    this.#above.add(index);
    this.#advance();
  }

  /** The resume point now. */
  point(): ResumePoint {
    return { next: this.#next, done: [...this.#above].sort((a, b) => a - b) };
  }

  #advance(): void {
    while (this.#above.delete(this.#next)) this.#next++;
  }
}

/** Run a connect scan of `plan` over `transport`. */
export async function runConnectScan(
  plan: ScanPlan,
  sink: EngineSink,
  transport: ConnectTransport,
  options: ConnectScanOptions = {},
): Promise<EngineStats> {
  const { timing } = plan;
  const tracker = new CompletionTracker(plan.resume);
  const order = new ProbeOrder(plan, { onSkip: (index) => tracker.complete(index) });
  const total = Number(order.total);
  const rtt = new RttEstimator(timing);
  const window = new CongestionWindow({
    initial: Math.min(options.initialWindow ?? 64, timing.maxParallelism),
    max: Math.min(timing.maxParallelism, transport.capacity),
  });
  const start = performance.now();
  const limiter = new RateLimiter(timing.maxRate, start);
  const deadlines = new DeadlineHeap();
  const retryQueue: Attempt[] = [];
  const hostStarted = new Map<bigint, number>();
  const stats: EngineStats = { probes: 0, retries: 0, backoffs: 0, peakInFlight: 0 };

  let seq = 0;
  let inFlight = 0;
  let done = 0;
  let exhausted = false;
  /** Highest retry number that ever drew an answer: past it, more retries are unlikely to help. */
  let highestAnsweredRetry = 0;
  let baseRtt = Infinity;
  /** First sequence number of the current round trip, for once-per-RTT decisions. */
  let epochEnd = 0;
  let lastYield = start;
  let lastProgress = start;
  let nextSendAt = start;

  function retriesAllowed(): number {
    return Math.min(timing.maxRetries, highestAnsweredRetry + 1);
  }

  function emit(attempt: Attempt, result: Omit<PortResult, "address" | "protocol" | "port">): void {
    done++;
    tracker.complete(attempt.index);
    sink.result(attempt.hostIndex, attempt.host, {
      address: attempt.host.address,
      protocol: "tcp",
      port: attempt.port,
      ...result,
    });
  }

  function hostExpired(hostIndex: bigint, now: number): boolean {
    if (timing.hostTimeout <= 0) return false;
    const first = hostStarted.get(hostIndex);
    if (first === undefined) {
      hostStarted.set(hostIndex, now);
      return false;
    }
    return now - first > timing.hostTimeout;
  }

  function nextAttempt(now: number): Attempt | undefined {
    const retry = retryQueue.shift();
    if (retry !== undefined) return retry;
    while (!exhausted) {
      const pair = order.next();
      if (pair === undefined) {
        exhausted = true;
        return undefined;
      }
      if (hostExpired(pair.hostIndex, now)) {
        done++;
        tracker.complete(pair.index);
        continue;
      }
      return {
        seq: 0,
        index: pair.index,
        hostIndex: pair.hostIndex,
        host: pair.host,
        port: pair.port,
        tries: 1,
        previousSeq: -1,
        sentAt: 0,
        deadline: 0,
        done: false,
        slot: -1,
      };
    }
    return undefined;
  }

  function handle(attempt: Attempt, outcome: ConnectOutcome, at: number): void {
    if (attempt.done) return;
    attempt.done = true;
    inFlight--;
    const elapsed = at - attempt.sentAt;
    if (outcome.kind === "local") {
      // Not the target's answer: our own resources ran short. Slow down and try again.
      window.shrink(attempt.seq, seq);
      retryQueue.push({ ...attempt, done: false, slot: -1 });
      return;
    }
    if (outcome.kind === "self") {
      // A loopback socket met itself: nobody listens there. A new source port settles it.
      if (attempt.tries <= timing.maxRetries) {
        stats.retries++;
        retryQueue.push(retryOf(attempt));
      } else {
        emit(attempt, { state: "closed", reason: "self-connect" });
      }
      return;
    }
    window.grow();
    if (attempt.tries === 1) {
      rtt.sample(elapsed);
      if (elapsed < baseRtt) baseRtt = elapsed;
      // Queueing, in the network or in the runtime itself: answers come ever
      // later as the window grows. Judged once per round trip.
      if (attempt.seq >= epochEnd && rtt.samples > 8) {
        epochEnd = seq;
        window.queueing(window.size * (1 - baseRtt / rtt.srtt));
      }
    } else {
      // The earlier attempt got no answer but this one did: that one was lost.
      highestAnsweredRetry = Math.max(highestAnsweredRetry, attempt.tries - 1);
      window.shrink(attempt.previousSeq, seq);
    }
    const rttField = { rtt: Math.round(elapsed * 1000) / 1000 };
    switch (outcome.kind) {
      case "open":
        emit(attempt, { state: "open", reason: "syn-ack", ...rttField });
        break;
      case "refused":
        emit(attempt, { state: "closed", reason: "conn-refused", ...rttField });
        break;
      case "unreachable":
        emit(attempt, { state: "filtered", reason: outcome.reason, ...rttField });
        break;
    }
  }

  function retryOf(attempt: Attempt): Attempt {
    return {
      ...attempt,
      tries: attempt.tries + 1,
      previousSeq: attempt.seq,
      done: false,
      slot: -1,
    };
  }

  function expire(now: number): void {
    for (;;) {
      const top = deadlines.peek();
      if (top === undefined || top.deadline > now) return;
      deadlines.pop();
      top.done = true;
      inFlight--;
      transport.abort(top);
      if (top.tries <= retriesAllowed()) {
        stats.retries++;
        retryQueue.push(retryOf(top));
      } else {
        emit(top, { state: "filtered", reason: "no-response" });
      }
    }
  }

  function send(now: number): void {
    const elapsedSeconds = (now - start) / 1000;
    const belowMinRate = timing.minRate > 0 &&
      stats.probes < timing.minRate * Math.max(elapsedSeconds, 0.001);
    const allowed = belowMinRate ? transport.capacity : window.size;
    while (inFlight < allowed) {
      if (timing.scanDelay > 0 && now < nextSendAt) return;
      if (limiter.delay(now) > 0) return;
      const attempt = nextAttempt(now);
      if (attempt === undefined) return;
      attempt.seq = seq++;
      attempt.sentAt = now;
      attempt.deadline = now + rtt.timeout();
      inFlight++;
      stats.probes++;
      limiter.take(now);
      if (timing.scanDelay > 0) nextSendAt = now + timing.scanDelay;
      const immediate = transport.start(attempt);
      if (immediate !== undefined) handle(attempt, immediate, now);
      else deadlines.push(attempt);
      if (inFlight > stats.peakInFlight) stats.peakInFlight = inFlight;
    }
  }

  function waitTime(now: number): number {
    const canSend = inFlight < window.size && (retryQueue.length > 0 || !exhausted);
    let wait = 50;
    if (canSend) {
      wait = Math.min(limiter.delay(now), timing.scanDelay > 0 ? nextSendAt - now : 0);
    }
    const top = deadlines.peek();
    if (top !== undefined) wait = Math.min(wait, top.deadline - now);
    return Math.max(0, Math.min(50, wait));
  }

  let lastCheckpoint = start;
  let drainUntil = Infinity;
  try {
    for (;;) {
      let now = performance.now();
      if (options.signal?.aborted && drainUntil === Infinity) {
        // Stop sending; give the probes in flight a moment to be answered.
        drainUntil = now + (options.drainMs ?? 1000);
        exhausted = true;
      }
      const draining = drainUntil !== Infinity;
      if (now >= drainUntil) break;
      // While draining, retries wait for a resume.
      if (!draining) send(now);
      if (inFlight === 0 && (retryQueue.length === 0 || draining) && exhausted) break;
      const completions: Completion[] = await transport.poll(waitTime(now));
      for (const { attempt, outcome, at } of completions) handle(attempt, outcome, at);
      now = performance.now();
      const top = deadlines.peek();
      if (top !== undefined && top.deadline <= now) {
        // Collect answers that are already waiting before calling anything silent.
        const late = await transport.poll(0);
        for (const { attempt, outcome, at } of late) handle(attempt, outcome, at);
        expire(performance.now());
      }
      if (now - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = now;
        sink.progress?.(done, total);
      }
      if (now - lastCheckpoint >= CHECKPOINT_EVERY_MS) {
        lastCheckpoint = now;
        sink.checkpoint?.(tracker.point());
      }
      if (now - lastYield >= YIELD_EVERY_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
  } finally {
    for (;;) {
      const attempt = deadlines.pop();
      if (attempt === undefined) break;
      attempt.done = true;
      transport.abort(attempt);
    }
  }
  sink.checkpoint?.(tracker.point());
  stats.backoffs = window.backoffs;
  sink.progress?.(done, total);
  return stats;
}
