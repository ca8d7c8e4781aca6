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
export async function runScan(
  plan: ScanPlan,
  sink: Pick<EngineSink, "progress" | "checkpoint">,
  transport: Transport,
  mode: ScanMode,
  options: ScanOptions = {},
): Promise<EngineStats> {
  const { timing } = plan;
  const tracker = new Completion(plan.resume);
  const order = new Order(plan, mode.units, { onSkip: (index) => tracker.complete(index) });
  const floor = timeoutFloor(options.exactTimes === true ? "syn" : mode.kind, timing);
  const rtt = new RttEstimator({ ...timing, minRttTimeout: floor });
  const rate = new RateController({
    minRate: timing.minRate,
    maxRate: timing.scanDelay > 0
      ? Math.min(timing.maxRate > 0 ? timing.maxRate : Infinity, 1000 / timing.scanDelay)
      : timing.maxRate,
    ...(options.initialRate !== undefined ? { initialRate: options.initialRate } : {}),
  });
  // Serialised templates (-T0..-T2) keep their parallelism; faster ones are
  // paced by rate, within what the transport can hold (descriptors).
  const maxInFlight = Math.min(
    timing.level <= 2 ? Math.max(1, timing.maxParallelism) : 1 << 20,
    transport.capacity ?? Infinity,
  );
  const attempts = attemptsFor(timing.maxRetries);
  /** Path checks use the last try number, which retries never reach. */
  const checkAttempt = attempts - 1;
  const paceMs = options.icmpPaceMs ?? 1010;
  const stats = emptyStats();
  const trace = options.trace;
  const portOf = (unit: number): number | undefined =>
    mode.kind === "discovery" ? undefined : plan.ports[unit];
  function traceAnswer(answer: Answer, slot: number | undefined): void {
    trace?.({
      type: "received",
      kind: mode.kind,
      at: answer.at,
      address: (slot === undefined ? plan.targets.at(answer.hostIndex) : hostOf(slot)).address,
      port: portOf(answer.unit),
      attempt: answer.attempt,
      state: answer.verdict?.state,
      reason: answer.verdict?.reason,
      ttl: answer.ttl,
    });
  }
  const meter = new SendMeter();
  const slots = new SlotTable(mode.units);
  const proof = new SilenceProof(slots, (hostIndex) => plan.targets.at(hostIndex));
  /** Slots to send again, each with its generation when queued (stale once decided or reused). */
  const retryQueue = new SlotQueue();
  /**
   * How long a host never heard from is waited for, from its first probe: as
   * long as proof is waited for on a path that stalled, but never less than
   * the template's initial timeout (-T5 accepts the misses of a shorter wait).
   */
  const unheard = timing.level >= 5
    ? timing.initialRttTimeout
    : Math.max(timing.initialRttTimeout, SILENCE_PROOF_MS);
  /** Holding last tries only pays where probes run in parallel (-T3 and faster). */
  const holds = timing.level >= 3;
  const pacedHosts = new Map<number, PacedHost>();
  /** When each host may get its next paced probe (kept while its queue is empty). */
  const pacedNextAt = new Map<number, number>();
  /** Per host: when its last ICMP port unreachable arrived. */
  const lastUnreach = new Map<number, number>();
  /** Per host: when its first probe went out (--host-timeout only). */
  const hostStarted = new Map<number, number>();

  let done = 0;
  let exhausted = false;
  let highestAnsweredRetry = 0;
  let baseRtt = Infinity;
  const total = order.total;

  // The last host looked up: a fresh unit's first try and one host's run of verdicts hit it.
  let lastHostIndex = -1n;
  let lastHost: Host | undefined;

  /** The host of the unit in `slot`, looked up by index (slots keep no Host objects). */
  function hostOf(slot: number): Host {
    const hostIndex = slots.hostIndexOf[slot]!;
    if (hostIndex !== lastHostIndex || lastHost === undefined) {
      lastHost = plan.targets.at(hostIndex);
      lastHostIndex = hostIndex;
    }
    return lastHost;
  }

  function release(slot: number): void {
    if (slots.isCheck[slot] === 1) proof.checkDone(slots.hostIndexOf[slot]!);
    transport.release?.(slot);
    slots.free(slot);
  }

  /**
   * --host-timeout: a host's clock starts at its first probe; past the
   * timeout its unsent probes are skipped and its unanswered ones not tried
   * again, and neither is reported (nmap reports nothing unfinished of a
   * host that timed out).
   */
  function hostExpired(hostIndex: bigint, now: number): boolean {
    if (timing.hostTimeout <= 0) return false;
    const key = Number(hostIndex);
    const first = hostStarted.get(key);
    if (first === undefined) {
      hostStarted.set(key, now);
      return false;
    }
    return now - first > timing.hostTimeout;
  }

  /** Give up on a unit of a host that timed out: finished, not reported. */
  function abandon(slot: number): void {
    done++;
    tracker.complete(slots.positionOf[slot]!);
    release(slot);
  }

  function decide(slot: number, verdict: Verdict): void {
    done++;
    tracker.complete(slots.positionOf[slot]!);
    mode.emit(slots.hostIndexOf[slot]!, hostOf(slot), slots.unitOf[slot]!, verdict);
    release(slot);
  }

  /**
   * A port scan of several ports a host (SYN or connect) on a path where no
   * try was ever lost: a retry finds only what loss hid, and a host none of
   * whose tries answered is dark, not lossy. Its silent ports get no retry
   * (a third of a -Pn sweep's sends go to dark hosts' retries otherwise).
   * The first retry answered anywhere (loss exists) ends this.
   */
  const darkHostsSkipRetries = (mode.kind === "syn" || mode.kind === "connect") &&
    mode.units >= 4 && timing.level >= 3;

  function isDark(slot: number): boolean {
    return darkHostsSkipRetries && highestAnsweredRetry === 0 && rate.lossRate === 0 &&
      stats.replies >= DARK_HOST_MIN_REPLIES && !proof.heard(slots.hostIndexOf[slot]!);
  }

  // lossRetries takes two logarithms: worked out again only when the measured loss moves.
  let retriesForLoss = 0;
  let retriesLossRate = 0;
  function retriesAllowed(slot: number): number {
    const loss = rate.lossRate;
    if (loss !== retriesLossRate) {
      retriesLossRate = loss;
      retriesForLoss = lossRetries(loss, total);
    }
    const wanted = Math.max(highestAnsweredRetry + 1, retriesForLoss);
    const allowed = Math.min(timing.maxRetries, wanted, attempts - 1);
    return allowed > 0 && isDark(slot) ? 0 : allowed;
  }

  function retry(slot: number): void {
    stats.retries++;
    retryQueue.push(slot, slots.generation[slot]!);
  }

  function handle(answer: Answer): void {
    const slot = slots.find(answer.hostIndex, answer.unit);
    if (trace !== undefined) traceAnswer(answer, slot);
    if (slot === undefined) return; // decided already, or never sent
    if (slots.isCheck[slot] === 1) {
      // Only the check's own try proves the path answers now (not a late
      // answer to the unit's earlier tries).
      if (answer.attempt === checkAttempt && answer.verdict !== undefined) {
        proof.answered(slot, slots.sentAt[slot]!, answer.timed);
        release(slot);
      }
      return;
    }
    if (answer.portUnreach) lastUnreach.set(Number(answer.hostIndex), answer.at);
    const verdict = answer.verdict;
    if (verdict === undefined) return;
    stats.replies++;
    const latest = slots.tries[slot]! - 1;
    const answered = Math.min(answer.attempt, latest);
    // The answered try's send time (of a middle try only the first is known).
    const triedAt = answered === latest ? slots.sentAt[slot]! : slots.firstSentAt[slot]!;
    const timed = answer.timed;
    proof.answered(slot, triedAt, timed);
    if (answered === 0 && timed) {
      // A late answer to the first try still times the path: queueing shows here.
      const first = answer.at - slots.firstSentAt[slot]!;
      if (first >= 0) {
        rtt.sample(first);
        rate.roundTrip(rtt.srtt);
        if (first < baseRtt) baseRtt = first;
      }
    }
    if (answered === latest && timed && slots.paced[slot] === 0) {
      const lostAt = answered > 0 ? slots.previousRate[slot]! : undefined;
      const before = rate.backoffs;
      rate.answered(slots.rateAt[slot]!, lostAt, answer.at);
      if (rate.backoffs !== before) rate.settle(answer.at + 2 * rtt.timeout());
    }
    if (answered === latest && answered > 0 && timed) {
      highestAnsweredRetry = Math.max(highestAnsweredRetry, answered);
    }
    if (answer.again === true && slots.tries[slot]! < attempts && latest < timing.maxRetries) {
      // Says nothing of the unit (a socket met itself): a fresh try settles it.
      slots.bump(slot); // its deadline entry goes stale
      retry(slot);
      return;
    }
    const elapsed = answer.at - slots.sentAt[slot]!;
    const decided: Verdict = { state: verdict.state, reason: verdict.reason };
    if (answered === latest && elapsed >= 0) decided.rtt = Math.round(elapsed * 1000) / 1000;
    const ttl = verdict.ttl ?? (answer.ttl > 0 ? answer.ttl : undefined);
    if (ttl !== undefined) decided.ttl = ttl;
    if (verdict.mac !== undefined) decided.mac = verdict.mac;
    decide(slot, decided);
  }

  /** A last try stayed silent: held for proof that the path answers, or decided at once. */
  function silent(slot: number): void {
    if (holds) proof.hold(slot);
    else decide(slot, mode.silent);
  }

  const heldHandler: HeldHandler = {
    settleOtherwise(slot: number, now: number): boolean {
      if (timing.hostTimeout > 0 && hostExpired(slots.hostIndexOf[slot]!, now)) {
        abandon(slot);
        return true;
      }
      // Paced tries are retried by the host's ICMP pace, never here.
      if (slots.paced[slot] === 0 && slots.tries[slot]! - 1 < retriesAllowed(slot)) {
        retry(slot);
        return true;
      }
      return false;
    },
    silent(slot: number): void {
      decide(slot, mode.silent);
    },
    check(unit: CheckUnit, now: number): void {
      lastHostIndex = unit.hostIndex;
      lastHost = unit.host;
      const slot = slots.occupy(unit.hostIndex, unit.unit, -1);
      slots.tries[slot] = checkAttempt;
      slots.refused[slot] = MAX_REFUSALS; // a refused check is not sent again: the next one will be
      slots.isCheck[slot] = 1;
      proof.checkSent(unit.hostIndex, now);
      transmit(slot, now, false);
    },
  };

  /** Pace a silent UDP try to a host that sends port unreachables, or let its silence stand. */
  function paceUdp(slot: number, unreachAt: number, now: number): void {
    const hostKey = Number(slots.hostIndexOf[slot]!);
    // The host sends unreachables but may be out of its ICMP budget: retry
    // at its refill pace; a paced try that stays silent is real silence.
    // On a lossy path one silent try proves less: ask twice.
    const pacedTries = options.pacedTries ?? (rate.lossRate > 0 ? 2 : 1);
    if (slots.paced[slot]! >= pacedTries || slots.tries[slot]! >= attempts) {
      // A paced try that drew nothing, with nothing else heard from the
      // host since it went: the host spent no ICMP on it, so its next
      // paced probe need not wait out the pace. (With loss on the path,
      // silence may be a lost unreachable that did spend the budget.)
      if (slots.proving[slot] === 1 && pacedTries === 1 && unreachAt < slots.sentAt[slot]!) {
        pacedNextAt.set(hostKey, now);
        const host = pacedHosts.get(hostKey);
        if (host !== undefined) host.nextAt = Math.min(host.nextAt, now);
      }
      silent(slot);
      return;
    }
    let host = pacedHosts.get(hostKey);
    if (host === undefined) {
      host = {
        queue: [],
        nextAt: Math.max(now, unreachAt + paceMs, pacedNextAt.get(hostKey) ?? 0),
      };
      pacedHosts.set(hostKey, host);
    }
    host.queue.push({ slot, generation: slots.generation[slot]! });
    stats.retries++;
  }

  /** Deal with the tries whose deadline passed by `judgeAt` (the receiver has read that far). */
  function expire(judgeAt: number, now: number): void {
    const timeout = rtt.timeout();
    for (let slot = slots.oldest(); slot !== undefined; slot = slots.oldest()) {
      if (judgeAt < slots.sentAt[slot]! + timeout) break;
      slots.shiftDeadline();
      if (slots.isCheck[slot] === 1) {
        release(slot); // lost, or the path is stalled: the next check tells
        continue;
      }
      if (timing.hostTimeout > 0 && hostExpired(slots.hostIndexOf[slot]!, now)) {
        abandon(slot);
        continue;
      }
      const unreachAt = mode.kind === "udp"
        ? lastUnreach.get(Number(slots.hostIndexOf[slot]!))
        : undefined;
      if (unreachAt !== undefined) paceUdp(slot, unreachAt, now);
      else if (slots.tries[slot]! - 1 < retriesAllowed(slot)) retry(slot);
      else {
        if (slots.tries[slot] === 1 && timing.maxRetries > 0 && isDark(slot)) {
          stats.darkRetriesSkipped++;
        }
        silent(slot);
      }
    }
    proof.release(judgeAt, now, { timeout, unheard }, heldHandler);
  }

  /** The one {@link Probe} handed to the transport, refilled per try (it reads it at once). */
  const outgoing: Probe = { slot: 0, hostIndex: 0n, host: undefined!, unit: 0, attempt: 0 };

  function transmit(slot: number, now: number, isPaced: boolean): void {
    slots.previousRate[slot] = slots.rateAt[slot]!;
    slots.rateAt[slot] = rate.rate;
    // Stamped as it goes, not at the round's start: a connect() takes the
    // kernel's whole handshake, and a burst of them would otherwise count
    // into every round trip measured.
    const sentAt = transport.now();
    slots.sentAt[slot] = sentAt;
    if (slots.tries[slot] === 0) slots.firstSentAt[slot] = sentAt;
    slots.proving[slot] = 0;
    if (isPaced) {
      // Only a try sent once the host's ICMP budget has refilled can prove silence.
      const unreachAt = lastUnreach.get(Number(slots.hostIndexOf[slot]!)) ?? -Infinity;
      if (now - unreachAt >= paceMs * 0.95) {
        slots.paced[slot] = slots.paced[slot]! + 1;
        slots.proving[slot] = 1;
      }
    }
    const attempt = slots.tries[slot]!;
    slots.tries[slot] = attempt + 1;
    slots.bump(slot);
    slots.pushDeadline(slot);
    stats.probes++;
    outgoing.slot = slot;
    outgoing.hostIndex = slots.hostIndexOf[slot]!;
    outgoing.host = hostOf(slot);
    outgoing.unit = slots.unitOf[slot]!;
    outgoing.attempt = attempt;
    transport.send(outgoing);
    if (trace !== undefined) {
      trace({
        type: "sent",
        kind: mode.kind,
        at: sentAt,
        address: outgoing.host.address,
        port: portOf(outgoing.unit),
        attempt,
      });
    }
  }

  function fresh(now: number): number | undefined {
    if (exhausted) return undefined;
    let item = order.next();
    while (item !== undefined && timing.hostTimeout > 0 && hostExpired(item.hostIndex, now)) {
      done++;
      tracker.complete(item.index);
      item = order.next();
    }
    if (item === undefined) {
      exhausted = true;
      return undefined;
    }
    lastHostIndex = item.hostIndex;
    lastHost = item.host;
    const slot = slots.occupy(item.hostIndex, item.portIndex, item.index);
    if (slots.inUse > stats.peakInFlight) stats.peakInFlight = slots.inUse;
    return slot;
  }

  function sendPaced(now: number): void {
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
      if (timing.hostTimeout > 0 && hostExpired(slots.hostIndexOf[slot]!, now)) {
        abandon(slot);
        if (host.queue.length === 0) pacedHosts.delete(key);
        continue;
      }
      host.nextAt = now + paceMs;
      pacedNextAt.set(key, host.nextAt);
      // An empty queue must not keep the scan alive until the next pace.
      if (host.queue.length === 0) pacedHosts.delete(key);
      transmit(slot, now, true);
    }
  }

  /** Tries the transport refused locally (a full queue, no descriptor): not the network's fault. */
  function requeueRefused(): void {
    for (const slot of transport.flush()) {
      // Sent again later, a few times; past that (no route, no source
      // address, a local firewall) the try stands as sent and lost, and the
      // unit ends as silence does.
      stats.sendErrors++;
      if (slots.occupied[slot] === 1 && slots.refused[slot]! < MAX_REFUSALS) {
        slots.refused[slot] = slots.refused[slot]! + 1;
        slots.tries[slot] = Math.max(0, slots.tries[slot]! - 1);
        slots.bump(slot);
        retryQueue.push(slot, slots.generation[slot]!);
      }
    }
  }

  /** Units in flight that hold transport resources (queued retries hold none of their own). */
  function busy(): number {
    return slots.inUse - retryQueue.length;
  }

  let tokens = 0;
  let lastRefill = transport.now();
  const start = lastRefill;
  let lastProgress = start;
  let lastCheckpoint = start;
  let drainUntil = Infinity;
  let seenDrops = 0;
  let lastYield = performance.now();

  function sendFresh(now: number): void {
    sendPaced(now);
    const elapsed = Math.max(0, now - lastRefill);
    lastRefill = now;
    const current = rate.rate;
    tokens = Math.min(tokens + (elapsed * current) / 1000, Math.max(64, current * 0.004));
    let sent = 0;
    while (tokens >= 1 && busy() < maxInFlight) {
      const queued = retryQueue.shiftLive(slots);
      const slot = queued >= 0 ? queued : fresh(now);
      if (slot === undefined) break;
      transmit(slot, now, false);
      tokens--;
      sent++;
    }
    rate.sent(sent);
    meter.sent(sent, now);
    if (rate.rate > stats.peakRate) stats.peakRate = rate.rate;
    requeueRefused();
  }

  /** Sleep until a token, a deadline or a paced retry is due; answers wake us sooner. */
  function waitTime(now: number, draining: boolean): number {
    let wait = 20;
    const canSend = !draining && (retryQueue.length > 0 || !exhausted) && busy() < maxInFlight;
    if (canSend && tokens < 1) wait = Math.min(wait, ((1 - tokens) / rate.rate) * 1000);
    else if (canSend) wait = 0;
    const head = slots.oldest();
    if (head !== undefined) {
      const due = slots.sentAt[head]! + rtt.timeout() - now;
      // Due already: the receiver has yet to read that far; give it a moment.
      wait = Math.min(wait, due > 0 ? due : 1);
    }
    for (const host of pacedHosts.values()) wait = Math.min(wait, host.nextAt - now);
    // Held tries end on an answer (which wakes us), a check's timeout or the hold: poll for the last two.
    if (proof.pending) wait = Math.min(wait, 5);
    return Math.max(0, Math.min(20, wait));
  }

  try {
    for (;;) {
      let now = transport.now();
      if (options.signal?.aborted && drainUntil === Infinity) {
        drainUntil = now + (options.drainMs ?? 1000);
        exhausted = true;
        retryQueue.clear();
        pacedHosts.clear();
      }
      const draining = drainUntil !== Infinity;
      if (now >= drainUntil) break;
      // Silence is judged up to the receiver's read point, taken before the
      // drain: every answer that arrived by then is handled first.
      const judgeAt = transport.caughtUp === undefined
        ? now
        : Math.max(Math.min(now, transport.caughtUp()), now - MAX_RECEIVER_LAG_MS);
      for (const answer of transport.receive()) handle(answer);
      const drops = transport.receiverStats?.().drops ?? 0;
      if (drops > seenDrops) {
        seenDrops = drops;
        rate.overload(now);
      }
      // Queueing: answers come ever later as the rate grows; stop growing meanwhile,
      // and when the queue is long, it is congestion: cut.
      rate.holdGrowth(rtt.samples > 8 && rtt.srtt > 2 * baseRtt + 20);
      if (rtt.samples > 8 && rtt.srtt > 3 * baseRtt + 50) {
        const before = rate.backoffs;
        rate.overload(now);
        if (rate.backoffs !== before) rate.settle(now + 2 * rtt.timeout());
      }
      expire(judgeAt, now);
      if (!draining) sendFresh(now);
      const idle = slots.inUse === 0 && exhausted && retryQueue.length === 0 &&
        pacedHosts.size === 0;
      if (idle || (draining && slots.inUse === 0)) break;
      now = transport.now();
      if (now - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = now;
        sink.progress?.(done, total);
      }
      if (now - lastCheckpoint >= CHECKPOINT_EVERY_MS) {
        lastCheckpoint = now;
        sink.checkpoint?.(tracker.point());
      }
      await transport.wait(waitTime(now, draining));
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
  } finally {
    // Whatever is still in flight (an abort's drain ran out) gives its resources back.
    for (let slot = 0; slot < slots.capacity; slot++) {
      if (slots.occupied[slot] === 1) release(slot);
    }
  }
  const receiver = transport.receiverStats?.() ?? { packets: 0, drops: 0 };
  stats.receiverDrops = receiver.drops;
  stats.receiverPackets = receiver.packets;
  stats.backoffs = rate.backoffs;
  stats.peakRate = Math.round(Math.max(stats.peakRate, rate.peak));
  stats.lossRate = rate.lossRate;
  stats.sendRate = meter.peak;
  sink.checkpoint?.(tracker.point());
  sink.progress?.(done, total);
  trace?.({
    type: "times",
    kind: mode.kind,
    srtt: rtt.srtt,
    rttvar: rtt.rttvar,
    timeout: rtt.timeout(),
  });
  return stats;
}
