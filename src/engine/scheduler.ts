/**
 * The one scan scheduler, under every transport (connect attempts through
 * epoll or `Deno.connect`, raw SYN, UDP and discovery packets), as nmap's
 * `ultra_scan` serves its connect and raw scans. It walks this shard of the
 * seeded order, sends tries at the rate the loss-aware {@link RateController}
 * allows (within the transport's capacity), times them out from measured
 * round trips, resends only the tries still unanswered, holds a last try's
 * silence until the path is shown to answer ({@link SilenceProof}), paces
 * UDP retries to hosts that rate-limit ICMP, and decides each unit once.
 *
 * State per unit is kept only while it is in flight ({@link SlotTable}).
 *
 * @module
 */

import { Completion } from "./completion.ts";
import { Order } from "./order.ts";
import { RateController, SendMeter } from "./rate.ts";
import { type CheckUnit, type HeldHandler, SILENCE_PROOF_MS, SilenceProof } from "./silence.ts";
import { SlotQueue, SlotTable } from "./slots.ts";
import { RttEstimator, timingTemplate } from "./timing.ts";
import type { TraceSink } from "./trace.ts";
import type { Answer, Probe, ScanMode, Transport, Verdict } from "./transport.ts";
import type { EngineSink, EngineStats, ScanPlan, Timing } from "./types.ts";
import type { Host } from "../targets/types.ts";

export { SILENCE_HOLD_MS, SILENCE_PROOF_MS } from "./silence.ts";

/** Options of {@link runScan}. */
export interface ScanOptions {
  signal?: AbortSignal;
  /** After an abort, how long to wait for answers in flight, ms (default 1000). */
  drainMs?: number;
  /** Starting rate, probes/s. */
  initialRate?: number;
  /**
   * Gap between paced UDP retries to one host, ms: a little more than the
   * target's ICMP rate limit (Linux: one unreachable a second after a burst).
   */
  icmpPaceMs?: number;
  /**
   * Silent paced tries before a UDP port on an ICMP-sending host is
   * open|filtered (default 1, or 2 once loss has been measured on the path).
   */
  pacedTries?: number;
  /**
   * The transport reads answers as they come, so round trips are trusted
   * down to {@link SYN_MIN_TIMEOUT_MS} at -T3 and faster, as for SYN scans
   * (the epoll connect transport; not `Deno.connect`, whose answers wait
   * for the event loop and whose older tries are aborted).
   */
  exactTimes?: boolean;
  /** Told of every try sent and answer received (`--packet-trace`, `-d`). */
  trace?: TraceSink;
}

/** Highest try number the cookies allow (source-port slots per probe). */
export function attemptsFor(maxRetries: number): number {
  return Math.min(16, maxRetries + 3);
}

/**
 * Floor of a SYN probe's timeout at -T3 and faster, ms. nmap's floor (100 ms
 * at -T4) covers its own reply handling; here replies are timestamped on
 * arrival by the receive worker, silence is judged only once that worker has
 * read the socket past the deadline, and SYN answers come from the target's
 * kernel, so srtt + 4 × rttvar is trusted down to this.
 */
export const SYN_MIN_TIMEOUT_MS = 10;

/**
 * Retries that random loss at `lossRate` (round trip) needs so that fewer than
 * one in a thousand scans of `total` probes gets a port wrong for it.
 */
export function lossRetries(lossRate: number, total: number): number {
  if (!(lossRate > 0) || lossRate >= 1 || total < 1) return 0;
  return Math.max(0, Math.ceil(Math.log(1e-3 / total) / Math.log(lossRate)) - 1);
}

/** Past this lag behind the clock, the receiver is not waited for (it is stuck), ms. */
const MAX_RECEIVER_LAG_MS = 5000;

/**
 * The timeout floor of a scan: the template's, or {@link SYN_MIN_TIMEOUT_MS}
 * for SYN scans at -T3 and faster unless --min-rtt-timeout changed it.
 */
export function timeoutFloor(kind: ScanMode["kind"], timing: Timing): number {
  const template = timingTemplate(timing.level).minRttTimeout;
  if (
    kind !== "syn" || timing.level < 3 || timing.minRttTimeout !== template
  ) {
    return timing.minRttTimeout;
  }
  return Math.min(timing.minRttTimeout, SYN_MIN_TIMEOUT_MS);
}

/**
 * Answers a scan must have had, with no try ever lost among them, before a
 * host never heard from gets no retries (see `retriesAllowed`).
 */
export const DARK_HOST_MIN_REPLIES = 256;

/** Refused sends of one unit that are sent again without counting as a try. */
const MAX_REFUSALS = 8;

const PROGRESS_EVERY_MS = 100;
const CHECKPOINT_EVERY_MS = 1000;
/**
 * Longest run without a turn of the event loop: a transport may wait
 * synchronously (epoll), and signals, timers and outputs need the thread.
 */
const YIELD_EVERY_MS = 20;

/** Sends the rate allows at once: 10 ms of it (at least 64). */
const BURST_MS = 10;

/**
 * Sends a stall (a collection, a slow round, a busy core) kept back are made
 * up afterwards, up to this many ms of the rate: as nmap lets its next send
 * time slip into the past, so the rate asked for is the rate held on
 * average. nmap's slip is unbounded; this one is bounded, and paid back at
 * no more than {@link CATCH_UP_PACE} above the rate, so a long stall never
 * turns into a burst at line rate.
 */
const CATCH_UP_MS = 100;

/** How much faster than the rate a stall's missed sends are made up. */
const CATCH_UP_PACE = 0.5;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A fresh set of counters. */
export function emptyStats(): EngineStats {
  return {
    probes: 0,
    retries: 0,
    backoffs: 0,
    peakInFlight: 0,
    receiverDrops: 0,
    receiverPackets: 0,
    replies: 0,
    sendErrors: 0,
    peakRate: 0,
    sendRate: 0,
    lossRate: 0,
    darkRetriesSkipped: 0,
  };
}

interface PacedHost {
  queue: { slot: number; generation: number }[];
  nextAt: number;
}

/** Run one scan of `plan` over `transport`, reading answers as `mode` says. */
export function runScan(
  plan: ScanPlan,
  sink: Pick<EngineSink, "progress" | "checkpoint">,
  transport: Transport,
  mode: ScanMode,
  options: ScanOptions = {},
): Promise<EngineStats> {
  return new ScanRun(plan, sink, transport, mode, options).run();
}

/**
 * One scan's state and its steps. The loop ({@link ScanRun.run}) receives
 * answers, expires tries whose deadline passed, and sends what the rate
 * allows, until every unit is decided.
 */
class ScanRun implements HeldHandler {
  readonly #plan: ScanPlan;
  readonly #timing: Timing;
  readonly #sink: Pick<EngineSink, "progress" | "checkpoint">;
  readonly #transport: Transport;
  readonly #mode: ScanMode;
  readonly #options: ScanOptions;
  readonly #tracker: Completion;
  readonly #order: Order;
  readonly #rtt: RttEstimator;
  readonly #rate: RateController;
  readonly #maxInFlight: number;
  readonly #attempts: number;
  /** Path checks use the last try number, which retries never reach. */
  readonly #checkAttempt: number;
  readonly #paceMs: number;
  readonly stats = emptyStats();
  readonly #trace: TraceSink | undefined;
  readonly #meter = new SendMeter();
  readonly #slots: SlotTable;
  readonly #proof: SilenceProof;
  /** Slots to send again, each with its generation when queued (stale once decided or reused). */
  readonly #retryQueue = new SlotQueue();
  /**
   * How long a host never heard from is waited for, from its first probe: as
   * long as proof is waited for on a path that stalled, but never less than
   * the template's initial timeout (-T5 accepts the misses of a shorter wait).
   */
  readonly #unheard: number;
  /** Holding last tries only pays where probes run in parallel (-T3 and faster). */
  readonly #holds: boolean;
  readonly #pacedHosts = new Map<number, PacedHost>();
  /** When each host may get its next paced probe (kept while its queue is empty). */
  readonly #pacedNextAt = new Map<number, number>();
  /** Per host: when its last ICMP port unreachable arrived. */
  readonly #lastUnreach = new Map<number, number>();
  /** Per host: when its first probe went out (--host-timeout only). */
  readonly #hostStarted = new Map<number, number>();
  /**
   * A port scan of several ports a host (SYN or connect) on a path where no
   * try was ever lost: a retry finds only what loss hid, and a host none of
   * whose tries answered is dark, not lossy. Its silent ports get no retry
   * (a third of a -Pn sweep's sends go to dark hosts' retries otherwise).
   * The first retry answered anywhere (loss exists) ends this.
   */
  readonly #darkHostsSkipRetries: boolean;
  readonly #total: number;
  #done = 0;
  #exhausted = false;
  #highestAnsweredRetry = 0;
  #baseRtt = Infinity;
  // The last host looked up: a fresh unit's first try and one host's run of verdicts hit it.
  #lastHostIndex = -1n;
  #lastHost: Host | undefined;
  // lossRetries takes two logarithms: worked out again only when the measured loss moves.
  #retriesForLoss = 0;
  #retriesLossRate = 0;
  /** The one {@link Probe} handed to the transport, refilled per try (it reads it at once). */
  readonly #outgoing: Probe = { slot: 0, hostIndex: 0n, host: undefined!, unit: 0, attempt: 0 };
  #tokens = 0;
  /** Sends owed by a stall (see {@link CATCH_UP_MS}). */
  #owed = 0;
  /** The last round stopped for want of tokens, not of work: time lost from here is owed. */
  #wanting = false;
  /** The rate's backoffs when last looked: a cut forgives what was owed. */
  #owedBackoffs = 0;
  #lastRefill: number;

  constructor(
    plan: ScanPlan,
    sink: Pick<EngineSink, "progress" | "checkpoint">,
    transport: Transport,
    mode: ScanMode,
    options: ScanOptions,
  ) {
    const { timing } = plan;
    this.#plan = plan;
    this.#timing = timing;
    this.#sink = sink;
    this.#transport = transport;
    this.#mode = mode;
    this.#options = options;
    this.#tracker = new Completion(plan.resume);
    const tracker = this.#tracker;
    this.#order = new Order(plan, mode.units, { onSkip: (index) => tracker.complete(index) });
    this.#total = this.#order.total;
    const floor = timeoutFloor(options.exactTimes === true ? "syn" : mode.kind, timing);
    this.#rtt = new RttEstimator({ ...timing, minRttTimeout: floor });
    this.#rate = new RateController({
      minRate: timing.minRate,
      maxRate: timing.scanDelay > 0
        ? Math.min(timing.maxRate > 0 ? timing.maxRate : Infinity, 1000 / timing.scanDelay)
        : timing.maxRate,
      ...(options.initialRate !== undefined ? { initialRate: options.initialRate } : {}),
    });
    // Serialised templates (-T0..-T2) keep their parallelism; faster ones are
    // paced by rate, within what the transport can hold (descriptors).
    this.#maxInFlight = Math.min(
      timing.level <= 2 ? Math.max(1, timing.maxParallelism) : 1 << 20,
      transport.capacity ?? Infinity,
    );
    this.#attempts = attemptsFor(timing.maxRetries);
    this.#checkAttempt = this.#attempts - 1;
    this.#paceMs = options.icmpPaceMs ?? 1010;
    this.#trace = options.trace;
    this.#slots = new SlotTable(mode.units);
    this.#proof = new SilenceProof(
      this.#slots,
      (hostIndex) => plan.targets.at(hostIndex),
      plan.targets.size,
    );
    this.#unheard = timing.level >= 5
      ? timing.initialRttTimeout
      : Math.max(timing.initialRttTimeout, SILENCE_PROOF_MS);
    this.#holds = timing.level >= 3;
    this.#darkHostsSkipRetries = (mode.kind === "syn" || mode.kind === "connect") &&
      mode.units >= 4 && timing.level >= 3;
    this.#lastRefill = transport.now();
  }

  /** The loop: until every unit is decided, or an abort's drain runs out. */
  async run(): Promise<EngineStats> {
    const transport = this.#transport;
    const slots = this.#slots;
    const start = this.#lastRefill;
    let lastProgress = start;
    let lastCheckpoint = start;
    let drainUntil = Infinity;
    let seenDrops = 0;
    let lastYield = performance.now();
    try {
      for (;;) {
        let now = transport.now();
        if (this.#options.signal?.aborted && drainUntil === Infinity) {
          drainUntil = now + (this.#options.drainMs ?? 1000);
          this.#exhausted = true;
          this.#retryQueue.clear();
          this.#pacedHosts.clear();
        }
        const draining = drainUntil !== Infinity;
        if (now >= drainUntil) break;
        // Silence is judged up to the receiver's read point, taken before the
        // drain: every answer that arrived by then is handled first.
        const judgeAt = transport.caughtUp === undefined
          ? now
          : Math.max(Math.min(now, transport.caughtUp()), now - MAX_RECEIVER_LAG_MS);
        for (const answer of transport.receive()) this.#handle(answer);
        const drops = transport.receiverStats?.().drops ?? 0;
        if (drops > seenDrops) {
          seenDrops = drops;
          this.#rate.overload(now);
        }
        this.#watchQueueing(now);
        this.#expire(judgeAt, now);
        if (!draining) this.#sendFresh(now);
        const idle = slots.inUse === 0 && this.#exhausted && this.#retryQueue.length === 0 &&
          this.#pacedHosts.size === 0;
        if (idle || (draining && slots.inUse === 0)) break;
        now = transport.now();
        if (now - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = now;
          this.#sink.progress?.(this.#done, this.#total);
        }
        if (now - lastCheckpoint >= CHECKPOINT_EVERY_MS) {
          lastCheckpoint = now;
          this.#sink.checkpoint?.(this.#tracker.point());
        }
        await transport.wait(this.#waitTime(now, draining));
        if (performance.now() - lastYield >= YIELD_EVERY_MS) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
    } finally {
      // Whatever is still in flight (an abort's drain ran out) gives its resources back.
      for (let slot = 0; slot < slots.capacity; slot++) {
        if (slots.occupied[slot] === 1) this.#release(slot);
      }
    }
    return this.#finish();
  }

  #finish(): EngineStats {
    const stats = this.stats;
    const rate = this.#rate;
    const receiver = this.#transport.receiverStats?.() ?? { packets: 0, drops: 0 };
    stats.receiverDrops = receiver.drops;
    stats.receiverPackets = receiver.packets;
    stats.backoffs = rate.backoffs;
    stats.peakRate = Math.round(Math.max(stats.peakRate, rate.peak));
    stats.lossRate = rate.lossRate;
    stats.sendRate = this.#meter.peak;
    this.#sink.checkpoint?.(this.#tracker.point());
    this.#sink.progress?.(this.#done, this.#total);
    const rtt = this.#rtt;
    this.#trace?.({
      type: "times",
      kind: this.#mode.kind,
      srtt: rtt.srtt,
      rttvar: rtt.rttvar,
      timeout: rtt.timeout(),
    });
    return stats;
  }

  /**
   * Queueing: answers come ever later as the rate grows; stop growing
   * meanwhile, and when the queue is long, it is congestion: cut.
   */
  #watchQueueing(now: number): void {
    const rtt = this.#rtt;
    const rate = this.#rate;
    rate.holdGrowth(rtt.samples > 8 && rtt.srtt > 2 * this.#baseRtt + 20);
    if (rtt.samples > 8 && rtt.srtt > 3 * this.#baseRtt + 50) {
      const before = rate.backoffs;
      rate.overload(now);
      if (rate.backoffs !== before) rate.settle(now + 2 * rtt.timeout());
    }
  }

  #portOf(unit: number): number | undefined {
    return this.#mode.kind === "discovery" ? undefined : this.#plan.ports[unit];
  }

  #traceAnswer(answer: Answer, slot: number | undefined): void {
    this.#trace?.({
      type: "received",
      kind: this.#mode.kind,
      at: answer.at,
      address: (slot === undefined ? this.#plan.targets.at(answer.hostIndex) : this.#hostOf(slot))
        .address,
      port: this.#portOf(answer.unit),
      attempt: answer.attempt,
      state: answer.verdict?.state,
      reason: answer.verdict?.reason,
      ttl: answer.ttl,
    });
  }

  /** The host of the unit in `slot`, looked up by index (slots keep no Host objects). */
  #hostOf(slot: number): Host {
    const hostIndex = this.#slots.hostIndexOf[slot]!;
    if (hostIndex !== this.#lastHostIndex || this.#lastHost === undefined) {
      this.#lastHost = this.#plan.targets.at(hostIndex);
      this.#lastHostIndex = hostIndex;
    }
    return this.#lastHost;
  }

  #release(slot: number): void {
    const slots = this.#slots;
    if (slots.isCheck[slot] === 1) this.#proof.checkDone(slots.hostIndexOf[slot]!);
    this.#transport.release?.(slot);
    slots.free(slot);
  }

  /**
   * --host-timeout: a host's clock starts at its first probe; past the
   * timeout its unsent probes are skipped and its unanswered ones not tried
   * again, and neither is reported (nmap reports nothing unfinished of a
   * host that timed out).
   */
  #hostExpired(hostIndex: bigint, now: number): boolean {
    if (this.#timing.hostTimeout <= 0) return false;
    const key = Number(hostIndex);
    const first = this.#hostStarted.get(key);
    if (first === undefined) {
      this.#hostStarted.set(key, now);
      return false;
    }
    return now - first > this.#timing.hostTimeout;
  }

  /** Give up on a unit of a host that timed out: finished, not reported. */
  #abandon(slot: number): void {
    this.#done++;
    this.#tracker.complete(this.#slots.positionOf[slot]!);
    this.#release(slot);
  }

  #decide(slot: number, verdict: Verdict): void {
    const slots = this.#slots;
    this.#done++;
    this.#tracker.complete(slots.positionOf[slot]!);
    this.#mode.emit(slots.hostIndexOf[slot]!, this.#hostOf(slot), slots.unitOf[slot]!, verdict);
    this.#release(slot);
  }

  #isDark(slot: number): boolean {
    return this.#darkHostsSkipRetries && this.#highestAnsweredRetry === 0 &&
      this.#rate.lossRate === 0 && this.stats.replies >= DARK_HOST_MIN_REPLIES &&
      !this.#proof.heard(this.#slots.hostIndexOf[slot]!);
  }

  #retriesAllowed(slot: number): number {
    const loss = this.#rate.lossRate;
    if (loss !== this.#retriesLossRate) {
      this.#retriesLossRate = loss;
      this.#retriesForLoss = lossRetries(loss, this.#total);
    }
    const wanted = Math.max(this.#highestAnsweredRetry + 1, this.#retriesForLoss);
    const allowed = Math.min(this.#timing.maxRetries, wanted, this.#attempts - 1);
    return allowed > 0 && this.#isDark(slot) ? 0 : allowed;
  }

  #retry(slot: number): void {
    this.stats.retries++;
    this.#retryQueue.push(slot, this.#slots.generation[slot]!);
  }

  #handle(answer: Answer): void {
    const slots = this.#slots;
    const slot = slots.find(answer.hostIndex, answer.unit);
    if (this.#trace !== undefined) this.#traceAnswer(answer, slot);
    if (slot === undefined) return; // decided already, or never sent
    if (slots.isCheck[slot] === 1) {
      // Only the check's own try proves the path answers now (not a late
      // answer to the unit's earlier tries).
      if (answer.attempt === this.#checkAttempt && answer.verdict !== undefined) {
        this.#proof.answered(slot, slots.sentAt[slot]!, answer.timed);
        this.#release(slot);
      }
      return;
    }
    if (answer.portUnreach) this.#lastUnreach.set(Number(answer.hostIndex), answer.at);
    const verdict = answer.verdict;
    if (verdict === undefined) return;
    this.stats.replies++;
    const latest = slots.tries[slot]! - 1;
    const answered = Math.min(answer.attempt, latest);
    // The answered try's send time (of a middle try only the first is known).
    const triedAt = answered === latest ? slots.sentAt[slot]! : slots.firstSentAt[slot]!;
    const timed = answer.timed;
    this.#proof.answered(slot, triedAt, timed);
    if (timed) this.#learn(slot, answer.at, answered, latest);
    if (
      answer.again === true && slots.tries[slot]! < this.#attempts &&
      latest < this.#timing.maxRetries
    ) {
      // Says nothing of the unit (a socket met itself): a fresh try settles it.
      slots.bump(slot); // its deadline entry goes stale
      this.#retry(slot);
      return;
    }
    const elapsed = answer.at - slots.sentAt[slot]!;
    const decided: Verdict = { state: verdict.state, reason: verdict.reason };
    if (answered === latest && elapsed >= 0) decided.rtt = Math.round(elapsed * 1000) / 1000;
    const ttl = verdict.ttl ?? (answer.ttl > 0 ? answer.ttl : undefined);
    if (ttl !== undefined) decided.ttl = ttl;
    if (verdict.mac !== undefined) decided.mac = verdict.mac;
    this.#decide(slot, decided);
  }

  /** What a timed answer to try `answered` (of `latest`) teaches the clocks and the rate. */
  #learn(slot: number, at: number, answered: number, latest: number): void {
    const slots = this.#slots;
    const rate = this.#rate;
    if (answered === 0) {
      // A late answer to the first try still times the path: queueing shows here.
      const first = at - slots.firstSentAt[slot]!;
      if (first >= 0) {
        this.#rtt.sample(first);
        rate.roundTrip(this.#rtt.srtt);
        if (first < this.#baseRtt) this.#baseRtt = first;
      }
    }
    if (answered === latest && slots.paced[slot] === 0) {
      const lostAt = answered > 0 ? slots.previousRate[slot]! : undefined;
      const before = rate.backoffs;
      rate.answered(slots.rateAt[slot]!, lostAt, at);
      if (rate.backoffs !== before) rate.settle(at + 2 * this.#rtt.timeout());
    }
    if (answered === latest && answered > 0) {
      this.#highestAnsweredRetry = Math.max(this.#highestAnsweredRetry, answered);
    }
  }

  /** A last try stayed silent: held for proof that the path answers, or decided at once. */
  #lastTrySilent(slot: number): void {
    if (this.#holds) this.#proof.hold(slot);
    else this.#decide(slot, this.#mode.silent);
  }

  /** {@link HeldHandler}: a held try's host timed out, or it may be retried. */
  settleOtherwise(slot: number, now: number): boolean {
    const slots = this.#slots;
    if (this.#timing.hostTimeout > 0 && this.#hostExpired(slots.hostIndexOf[slot]!, now)) {
      this.#abandon(slot);
      return true;
    }
    // Paced tries are retried by the host's ICMP pace, never here.
    if (slots.paced[slot] === 0 && slots.tries[slot]! - 1 < this.#retriesAllowed(slot)) {
      this.#retry(slot);
      return true;
    }
    return false;
  }

  /** {@link HeldHandler}: a held try's silence stands. */
  silent(slot: number): void {
    this.#decide(slot, this.#mode.silent);
  }

  /** {@link HeldHandler}: send a path check. */
  check(unit: CheckUnit, now: number): void {
    const slots = this.#slots;
    this.#lastHostIndex = unit.hostIndex;
    this.#lastHost = unit.host;
    const slot = slots.occupy(unit.hostIndex, unit.unit, -1);
    slots.tries[slot] = this.#checkAttempt;
    slots.refused[slot] = MAX_REFUSALS; // a refused check is not sent again: the next one will be
    slots.isCheck[slot] = 1;
    this.#proof.checkSent(unit.hostIndex, now);
    this.#transmit(slot, now, false);
  }

  /** Pace a silent UDP try to a host that sends port unreachables, or let its silence stand. */
  #paceUdp(slot: number, unreachAt: number, now: number): void {
    const slots = this.#slots;
    const hostKey = Number(slots.hostIndexOf[slot]!);
    // The host sends unreachables but may be out of its ICMP budget: retry
    // at its refill pace; a paced try that stays silent is real silence.
    // On a lossy path one silent try proves less: ask twice.
    const pacedTries = this.#options.pacedTries ?? (this.#rate.lossRate > 0 ? 2 : 1);
    if (slots.paced[slot]! >= pacedTries || slots.tries[slot]! >= this.#attempts) {
      // A paced try that drew nothing, with nothing else heard from the
      // host since it went: the host spent no ICMP on it, so its next
      // paced probe need not wait out the pace. (With loss on the path,
      // silence may be a lost unreachable that did spend the budget.)
      if (slots.proving[slot] === 1 && pacedTries === 1 && unreachAt < slots.sentAt[slot]!) {
        this.#pacedNextAt.set(hostKey, now);
        const host = this.#pacedHosts.get(hostKey);
        if (host !== undefined) host.nextAt = Math.min(host.nextAt, now);
      }
      this.#lastTrySilent(slot);
      return;
    }
    let host = this.#pacedHosts.get(hostKey);
    if (host === undefined) {
      host = {
        queue: [],
        nextAt: Math.max(now, unreachAt + this.#paceMs, this.#pacedNextAt.get(hostKey) ?? 0),
      };
      this.#pacedHosts.set(hostKey, host);
    }
    host.queue.push({ slot, generation: slots.generation[slot]! });
    this.stats.retries++;
  }

  /** Deal with the tries whose deadline passed by `judgeAt` (the receiver has read that far). */
  #expire(judgeAt: number, now: number): void {
    const slots = this.#slots;
    const timing = this.#timing;
    const timeout = this.#rtt.timeout();
    for (let slot = slots.oldest(); slot !== undefined; slot = slots.oldest()) {
      if (judgeAt < slots.sentAt[slot]! + timeout) break;
      slots.shiftDeadline();
      if (slots.isCheck[slot] === 1) {
        this.#release(slot); // lost, or the path is stalled: the next check tells
        continue;
      }
      if (timing.hostTimeout > 0 && this.#hostExpired(slots.hostIndexOf[slot]!, now)) {
        this.#abandon(slot);
        continue;
      }
      const unreachAt = this.#mode.kind === "udp"
        ? this.#lastUnreach.get(Number(slots.hostIndexOf[slot]!))
        : undefined;
      if (unreachAt !== undefined) this.#paceUdp(slot, unreachAt, now);
      else if (slots.tries[slot]! - 1 < this.#retriesAllowed(slot)) this.#retry(slot);
      else {
        if (slots.tries[slot] === 1 && timing.maxRetries > 0 && this.#isDark(slot)) {
          this.stats.darkRetriesSkipped++;
        }
        this.#lastTrySilent(slot);
      }
    }
    this.#proof.release(judgeAt, now, { timeout, unheard: this.#unheard }, this);
  }

  #transmit(slot: number, now: number, isPaced: boolean): void {
    const slots = this.#slots;
    slots.previousRate[slot] = slots.rateAt[slot]!;
    slots.rateAt[slot] = this.#rate.rate;
    // Stamped as it goes, not at the round's start: a connect() takes the
    // kernel's whole handshake, and a burst of them would otherwise count
    // into every round trip measured.
    const sentAt = this.#transport.now();
    slots.sentAt[slot] = sentAt;
    if (slots.tries[slot] === 0) {
      slots.firstSentAt[slot] = sentAt;
      this.#proof.sent(slots.hostIndexOf[slot]!, sentAt);
    }
    slots.proving[slot] = 0;
    if (isPaced) {
      // Only a try sent once the host's ICMP budget has refilled can prove silence.
      const unreachAt = this.#lastUnreach.get(Number(slots.hostIndexOf[slot]!)) ?? -Infinity;
      if (now - unreachAt >= this.#paceMs * 0.95) {
        slots.paced[slot] = slots.paced[slot]! + 1;
        slots.proving[slot] = 1;
      }
    }
    const attempt = slots.tries[slot]!;
    slots.tries[slot] = attempt + 1;
    slots.bump(slot);
    slots.pushDeadline(slot);
    this.stats.probes++;
    const outgoing = this.#outgoing;
    outgoing.slot = slot;
    outgoing.hostIndex = slots.hostIndexOf[slot]!;
    outgoing.host = this.#hostOf(slot);
    outgoing.unit = slots.unitOf[slot]!;
    outgoing.attempt = attempt;
    this.#transport.send(outgoing);
    if (this.#trace !== undefined) {
      this.#trace({
        type: "sent",
        kind: this.#mode.kind,
        at: sentAt,
        address: outgoing.host.address,
        port: this.#portOf(outgoing.unit),
        attempt,
      });
    }
  }

  #fresh(now: number): number | undefined {
    if (this.#exhausted) return undefined;
    const order = this.#order;
    let item = order.next();
    while (
      item !== undefined && this.#timing.hostTimeout > 0 && this.#hostExpired(item.hostIndex, now)
    ) {
      this.#done++;
      this.#tracker.complete(item.index);
      item = order.next();
    }
    if (item === undefined) {
      this.#exhausted = true;
      return undefined;
    }
    this.#lastHostIndex = item.hostIndex;
    this.#lastHost = item.host;
    const slots = this.#slots;
    const slot = slots.occupy(item.hostIndex, item.portIndex, item.index);
    if (slots.inUse > this.stats.peakInFlight) this.stats.peakInFlight = slots.inUse;
    return slot;
  }

  #sendPaced(now: number): void {
    const slots = this.#slots;
    const pacedHosts = this.#pacedHosts;
    for (const [key, host] of pacedHosts) {
      if (host.nextAt > now) continue;
      let entry = host.queue.shift();
      // Entries answered meanwhile (a late reply) are stale.
      while (entry !== undefined && slots.generation[entry.slot] !== entry.generation) {
        entry = host.queue.shift();
      }
      if (entry === undefined) {
        pacedHosts.delete(key);
        continue;
      }
      const slot = entry.slot;
      if (this.#timing.hostTimeout > 0 && this.#hostExpired(slots.hostIndexOf[slot]!, now)) {
        this.#abandon(slot);
        if (host.queue.length === 0) pacedHosts.delete(key);
        continue;
      }
      host.nextAt = now + this.#paceMs;
      this.#pacedNextAt.set(key, host.nextAt);
      // An empty queue must not keep the scan alive until the next pace.
      if (host.queue.length === 0) pacedHosts.delete(key);
      this.#transmit(slot, now, true);
    }
  }

  /** Tries the transport refused locally (a full queue, no descriptor): not the network's fault. */
  #requeueRefused(): void {
    const slots = this.#slots;
    for (const slot of this.#transport.flush()) {
      // Sent again later, a few times; past that (no route, no source
      // address, a local firewall) the try stands as sent and lost, and the
      // unit ends as silence does.
      this.stats.sendErrors++;
      if (slots.occupied[slot] === 1 && slots.refused[slot]! < MAX_REFUSALS) {
        slots.refused[slot] = slots.refused[slot]! + 1;
        slots.tries[slot] = Math.max(0, slots.tries[slot]! - 1);
        slots.bump(slot);
        this.#retryQueue.push(slot, slots.generation[slot]!);
      }
    }
  }

  /** Units in flight that hold transport resources (queued retries hold none of their own). */
  #busy(): number {
    return this.#slots.inUse - this.#retryQueue.length;
  }

  #sendFresh(now: number): void {
    this.#sendPaced(now);
    const rate = this.#rate;
    const elapsed = Math.max(0, now - this.#lastRefill);
    this.#lastRefill = now;
    const current = rate.rate;
    const burst = Math.max(64, (current * BURST_MS) / 1000);
    let tokens = this.#tokens + (elapsed * current) / 1000;
    if (rate.backoffs !== this.#owedBackoffs) {
      // Congestion cut the rate: nothing owed is sent into it.
      this.#owedBackoffs = rate.backoffs;
      this.#owed = 0;
    }
    if (tokens > burst) {
      if (this.#wanting) {
        this.#owed = Math.min(this.#owed + tokens - burst, (current * CATCH_UP_MS) / 1000);
      }
      tokens = burst;
    } else if (this.#owed > 0) {
      const back = Math.min(this.#owed, (elapsed * current * CATCH_UP_PACE) / 1000);
      tokens += back;
      this.#owed -= back;
    }
    let sent = 0;
    let wanting = true;
    while (tokens >= 1) {
      if (this.#busy() >= this.#maxInFlight) {
        wanting = false;
        break;
      }
      const queued = this.#retryQueue.shiftLive(this.#slots);
      const slot = queued >= 0 ? queued : this.#fresh(now);
      if (slot === undefined) {
        wanting = false;
        break;
      }
      this.#transmit(slot, now, false);
      tokens--;
      sent++;
    }
    // Out of work, not of tokens: idle time is not a stall, and nothing is owed for it.
    this.#wanting = wanting;
    if (!wanting) this.#owed = 0;
    this.#tokens = tokens;
    rate.sent(sent);
    this.#meter.sent(sent, now);
    if (rate.rate > this.stats.peakRate) this.stats.peakRate = rate.rate;
    this.#requeueRefused();
  }

  /** Sleep until a token, a deadline or a paced retry is due; answers wake us sooner. */
  #waitTime(now: number, draining: boolean): number {
    let wait = 20;
    const canSend = !draining && (this.#retryQueue.length > 0 || !this.#exhausted) &&
      this.#busy() < this.#maxInFlight;
    const rate = this.#rate.rate;
    if (canSend && this.#tokens < 1) wait = Math.min(wait, ((1 - this.#tokens) / rate) * 1000);
    else if (canSend) wait = 0;
    const slots = this.#slots;
    const head = slots.oldest();
    if (head !== undefined) {
      const due = slots.sentAt[head]! + this.#rtt.timeout() - now;
      // Due already: the receiver has yet to read that far; give it a moment.
      wait = Math.min(wait, due > 0 ? due : 1);
    }
    for (const host of this.#pacedHosts.values()) wait = Math.min(wait, host.nextAt - now);
    // Held tries end on an answer (which wakes us), a check's timeout or the hold: poll for the last two.
    if (this.#proof.pending) wait = Math.min(wait, 5);
    return Math.max(0, Math.min(20, wait));
  }
}
