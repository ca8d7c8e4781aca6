/**
 * The raw engine's scheduler: walks this shard of the seeded order, sends
 * probes in batches at the rate the {@link RateController} allows, matches
 * the receiver's validated replies back to their probe, resends only the
 * probes still unanswered, and decides each unit once. The I/O (packet
 * building, sockets, the receive worker) sits behind {@link RawIo}, so the
 * same scheduler runs SYN, UDP and discovery scans.
 *
 * State per probe is kept only while it is in flight: a slot in growable
 * typed arrays, a FIFO of deadlines (sends are in time order, so the oldest
 * deadline is always at the head) and a map from (host, unit) to its slot.
 *
 * @module
 */

import type { Host } from "../targets/types.ts";
import { RawCompletion } from "./raw_completion.ts";
import { HostIndexer } from "./raw_hosts.ts";
import { RawOrder } from "./raw_order.ts";
import { RateController } from "./raw_rate.ts";
import { type RawEngineStats, type RawScanPlan, ReplyKind, type ReplyRecord } from "./raw_types.ts";
import { RttEstimator, timingTemplate } from "./timing.ts";
import type { EngineSink } from "./types.ts";

/** One try of one unit, for {@link RawIo.send}. */
export interface RawSend {
  /** Tag to report a refused send with. */
  slot: number;
  hostIndex: bigint;
  host: Host;
  /** Index into the plan's ports (0 for discovery). */
  unit: number;
  /** Which try, from 0. */
  attempt: number;
}

/** The I/O a raw scan runs over. */
export interface RawIo {
  /** Queue the packets of one try; may send at once when a batch fills. `probe` is reused after. */
  send(probe: RawSend): void;
  /** Send what is queued; returns the slots of tries the kernel refused. */
  flush(): number[];
  /** Replies received since the last call. */
  receive(): ReplyRecord[];
  /** Resolve after `ms`, or sooner when replies arrive. */
  wait(ms: number): Promise<void>;
  /** The receive socket's counters so far. */
  receiverStats(): { packets: number; drops: number };
  /**
   * Every reply that arrived before this time (on {@link now}'s clock) has
   * been received; silence is judged only up to it. Omitted: receipt is
   * immediate.
   */
  caughtUp?(): number;
  /** Milliseconds since the epoch, on the clock of {@link ReplyRecord.at}. */
  now(): number;
}

/** A unit's verdict. */
export interface RawVerdict {
  state: string;
  reason: string;
  rtt?: number;
  ttl?: number;
  /** Discovery: the hardware address of an ARP / ND reply, as a number. */
  mac?: number;
}

/** How a scan type reads replies. */
export interface RawScanMode {
  kind: "syn" | "udp" | "discovery";
  /** Units per host: the number of ports, or 1 for discovery. */
  units: number;
  /** The unit a reply answers (e.g. port to port index), or undefined when none. */
  unitOf(record: ReplyRecord): number | undefined;
  /** The verdict a reply gives, or undefined when it settles nothing. */
  verdictOf(record: ReplyRecord): RawVerdict | undefined;
  /** The verdict of a unit that was never answered. */
  silent: RawVerdict;
  /** Report a verdict. */
  emit(hostIndex: bigint, host: Host, unit: number, verdict: RawVerdict): void;
}

/** Options of {@link runRawScan}. */
export interface RawScanOptions {
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
 * Least extra wait before a last try's silence stands when nothing in the scan
 * has answered yet (so nothing can show whether the path still answers), ms.
 */
export const SILENCE_HOLD_MS = 100;

/**
 * Longest wait for proof that the path still answers before a last try's
 * silence stands anyway (the path or the host went away), ms.
 */
export const SILENCE_PROOF_MS = 2000;

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
export function timeoutFloor(kind: RawScanMode["kind"], timing: RawScanPlan["timing"]): number {
  const template = timingTemplate(timing.level).minRttTimeout;
  if (kind !== "syn" || timing.level < 3 || timing.minRttTimeout !== template) {
    return timing.minRttTimeout;
  }
  return Math.min(timing.minRttTimeout, SYN_MIN_TIMEOUT_MS);
}

/** Refused sends of one unit that are sent again without counting as a try. */
const MAX_REFUSALS = 8;

const PROGRESS_EVERY_MS = 100;
const CHECKPOINT_EVERY_MS = 1000;

interface PacedHost {
  queue: { slot: number; generation: number }[];
  nextAt: number;
}

/** Run one raw scan of `plan` over `io`. */
export async function runRawScan(
  plan: RawScanPlan,
  sink: Pick<EngineSink, "progress" | "checkpoint">,
  io: RawIo,
  mode: RawScanMode,
  options: RawScanOptions = {},
): Promise<RawEngineStats> {
  const { timing } = plan;
  const units = mode.units;
  const tracker = new RawCompletion(plan.resume);
  const order = new RawOrder(plan, units, { onSkip: (index) => tracker.complete(index) });
  const indexer = new HostIndexer(plan.targets);
  const rtt = new RttEstimator({ ...timing, minRttTimeout: timeoutFloor(mode.kind, timing) });
  const rate = new RateController({
    minRate: timing.minRate,
    maxRate: timing.scanDelay > 0
      ? Math.min(timing.maxRate > 0 ? timing.maxRate : Infinity, 1000 / timing.scanDelay)
      : timing.maxRate,
    ...(options.initialRate !== undefined ? { initialRate: options.initialRate } : {}),
  });
  // Serialised templates (-T0..-T2) keep their parallelism; faster ones are paced by rate.
  const maxInFlight = timing.level <= 2 ? Math.max(1, timing.maxParallelism) : 1 << 20;
  const attempts = attemptsFor(timing.maxRetries);
  /** Path checks use the last try number, which retries never reach. */
  const checkAttempt = attempts - 1;
  const paceMs = options.icmpPaceMs ?? 1010;
  const stats: RawEngineStats = {
    probes: 0,
    retries: 0,
    backoffs: 0,
    peakInFlight: 0,
    receiverDrops: 0,
    receiverPackets: 0,
    replies: 0,
    sendErrors: 0,
    peakRate: 0,
    lossRate: 0,
  };

  // Slots of probes in flight.
  let capacity = 1024;
  let hostIndexOf = new BigInt64Array(capacity);
  let unitOf = new Int32Array(capacity);
  let positionOf = new Float64Array(capacity);
  let sentAt = new Float64Array(capacity);
  let firstSentAt = new Float64Array(capacity);
  let tries = new Uint8Array(capacity);
  let paced = new Uint8Array(capacity);
  /** Times the kernel refused to send this unit's tries. */
  let refused = new Uint8Array(capacity);
  /** 1 while the unit's last try is a paced one sent with the host's ICMP budget refilled. */
  let proving = new Uint8Array(capacity);
  /** 1 for a path check: a probe of a unit already decided, sent only to see the path answer. */
  let isCheck = new Uint8Array(capacity);
  let rateAt = new Float64Array(capacity);
  let previousRate = new Float64Array(capacity);
  const hostOf: (Host | undefined)[] = new Array(capacity);
  const free: number[] = [];
  for (let i = capacity - 1; i >= 0; i--) free.push(i);
  const bySlotKey = new Map<number, number>();
  // Deadline FIFO: slot and its generation when queued.
  let fifoSlots = new Int32Array(capacity);
  let fifoGenerations = new Uint32Array(capacity);
  /** Bumped on every send from a slot, so FIFO entries of earlier tries or occupants go stale. */
  let generation = new Uint32Array(capacity);
  let fifoHead = 0;
  let fifoTail = 0;
  /** Slots to send again, each with its generation when queued (stale once decided or reused). */
  const retryQueue: { slot: number; generation: number }[] = [];
  /** Last tries past their deadline whose silence awaits proof that the path answers. */
  const held: { slot: number; generation: number }[] = [];
  let heldHead = 0;
  /** Latest send time of a try that drew an answer: the path answered up to there. */
  let answeredSentAt = -Infinity;
  /** A unit that answered (TCP, or UDP data: never an ICMP-budget spender), to check the path with. */
  let checkUnit: { hostIndex: bigint; host: Host; unit: number } | undefined;
  /** Whether a path check is in flight, and when the last one went. */
  let checking = false;
  let checkSentAt = -Infinity;
  /** Holding last tries only pays where probes run in parallel (-T3 and faster). */
  const holds = timing.level >= 3;
  const pacedHosts = new Map<number, PacedHost>();
  /** When each host may get its next paced probe (kept while its queue is empty). */
  const pacedNextAt = new Map<number, number>();
  /** Per host: when its last ICMP port unreachable arrived. */
  const lastUnreach = new Map<number, number>();
  /** Per host: when its first probe went out (--host-timeout only). */
  const hostStarted = new Map<number, number>();

  function grow(): void {
    const next = capacity * 2;
    const copy = <T extends { length: number; set(a: ArrayLike<number | bigint>): void }>(
      from: T,
      make: (n: number) => T,
    ): T => {
      const to = make(next);
      to.set(from as unknown as ArrayLike<number | bigint>);
      return to;
    };
    hostIndexOf = copy(hostIndexOf, (n) => new BigInt64Array(n));
    unitOf = copy(unitOf, (n) => new Int32Array(n));
    positionOf = copy(positionOf, (n) => new Float64Array(n));
    sentAt = copy(sentAt, (n) => new Float64Array(n));
    firstSentAt = copy(firstSentAt, (n) => new Float64Array(n));
    tries = copy(tries, (n) => new Uint8Array(n));
    paced = copy(paced, (n) => new Uint8Array(n));
    refused = copy(refused, (n) => new Uint8Array(n));
    proving = copy(proving, (n) => new Uint8Array(n));
    isCheck = copy(isCheck, (n) => new Uint8Array(n));
    rateAt = copy(rateAt, (n) => new Float64Array(n));
    previousRate = copy(previousRate, (n) => new Float64Array(n));
    generation = copy(generation, (n) => new Uint32Array(n));
    hostOf.length = next;
    for (let i = next - 1; i >= capacity; i--) free.push(i);
    // The FIFO is unrolled into the larger ring.
    const slots = new Int32Array(next);
    const generations = new Uint32Array(next);
    const count = fifoTail - fifoHead;
    for (let i = 0; i < count; i++) {
      slots[i] = fifoSlots[(fifoHead + i) % capacity]!;
      generations[i] = fifoGenerations[(fifoHead + i) % capacity]!;
    }
    fifoSlots = slots;
    fifoGenerations = generations;
    fifoHead = 0;
    fifoTail = count;
    capacity = next;
  }

  function fifoPush(slot: number): void {
    // The FIFO holds at most one live entry per slot plus stale ones: bounded by 2 × capacity.
    if (fifoTail - fifoHead >= capacity) grow();
    fifoSlots[fifoTail % capacity] = slot;
    fifoGenerations[fifoTail % capacity] = generation[slot]!;
    fifoTail++;
  }

  const keyOf = (hostIndex: bigint, unit: number): number => Number(hostIndex) * units + unit;

  let inFlight = 0;
  let done = 0;
  let exhausted = false;
  let highestAnsweredRetry = 0;
  let baseRtt = Infinity;
  const total = order.total;

  function release(slot: number): void {
    if (isCheck[slot] === 1) {
      isCheck[slot] = 0;
      checking = false;
    }
    bySlotKey.delete(keyOf(hostIndexOf[slot]!, unitOf[slot]!));
    hostOf[slot] = undefined;
    tries[slot] = 0;
    generation[slot] = (generation[slot]! + 1) >>> 0;
    inFlight--;
    free.push(slot);
  }

  /**
   * --host-timeout, as the connect engine: a host's clock starts at its first
   * probe; past the timeout its unsent probes are skipped and its unanswered
   * ones not tried again, and neither is reported (nmap reports nothing
   * unfinished of a host that timed out).
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
    tracker.complete(positionOf[slot]!);
    release(slot);
  }

  function decide(slot: number, verdict: RawVerdict): void {
    done++;
    tracker.complete(positionOf[slot]!);
    mode.emit(hostIndexOf[slot]!, hostOf[slot]!, unitOf[slot]!, verdict);
    release(slot);
  }

  function handle(record: ReplyRecord): void {
    const hostIndex = indexer.indexOf(record.family, record.address);
    if (hostIndex === undefined) return;
    const unit = mode.unitOf(record);
    if (unit === undefined) return;
    const slot = bySlotKey.get(keyOf(hostIndex, unit));
    if (slot === undefined) return; // decided already, or never sent
    if (isCheck[slot] === 1) {
      // Only the check's own try proves the path answers now (not a late
      // answer to the unit's earlier tries).
      if (record.attempt === checkAttempt && mode.verdictOf(record) !== undefined) {
        if (sentAt[slot]! > answeredSentAt) answeredSentAt = sentAt[slot]!;
        release(slot);
      }
      return;
    }
    if (
      record.kind === ReplyKind.IcmpError && record.reason === "port-unreach" && record.fromTarget
    ) {
      lastUnreach.set(Number(hostIndex), record.at);
    }
    const verdict = mode.verdictOf(record);
    if (verdict === undefined) return;
    stats.replies++;
    const latest = tries[slot]! - 1;
    const answered = Math.min(record.attempt, latest);
    // The answered try's send time (of a middle try only the first is known).
    const triedAt = answered === latest ? sentAt[slot]! : firstSentAt[slot]!;
    if (triedAt > answeredSentAt) answeredSentAt = triedAt;
    // Loss is judged on TCP answers only: ICMP is rate-limited by the targets.
    const counts = record.kind !== ReplyKind.IcmpError && record.kind !== ReplyKind.Arp &&
      record.kind !== ReplyKind.Neighbor;
    if (answered === 0 && counts) {
      // A late answer to the first try still times the path: queueing shows here.
      const first = record.at - firstSentAt[slot]!;
      if (first >= 0) {
        rtt.sample(first);
        rate.roundTrip(rtt.srtt);
        if (first < baseRtt) baseRtt = first;
      }
    }
    if (answered === latest) {
      const elapsed = record.at - sentAt[slot]!;
      if (elapsed >= 0) verdict.rtt = Math.round(elapsed * 1000) / 1000;
      if (counts && paced[slot] === 0) {
        const lostAt = answered > 0 ? previousRate[slot]! : undefined;
        const before = rate.backoffs;
        rate.answered(rateAt[slot]!, lostAt, record.at);
        if (rate.backoffs !== before) rate.settle(record.at + 2 * rtt.timeout());
      }
      if (answered > 0 && counts) highestAnsweredRetry = Math.max(highestAnsweredRetry, answered);
    }
    if (counts) {
      checkUnit = { hostIndex: hostIndexOf[slot]!, host: hostOf[slot]!, unit: unitOf[slot]! };
    }
    if (verdict.ttl === undefined && record.ttl > 0) verdict.ttl = record.ttl;
    decide(slot, verdict);
  }

  function retriesAllowed(): number {
    const wanted = Math.max(highestAnsweredRetry + 1, lossRetries(rate.lossRate, total));
    return Math.min(timing.maxRetries, wanted, attempts - 1);
  }

  /**
   * Judge held last tries: retried if more retries are allowed by now, silent
   * once a probe sent after them drew an answer (the path was not stalled:
   * their answers are not merely late). While none has, a path check goes to
   * a unit that answered before; with nothing that ever answered, or past
   * {@link SILENCE_PROOF_MS}, silence stands. Held in send order, so the
   * first that must wait stops the walk.
   */
  function releaseHeld(judgeAt: number, now: number): void {
    const timeout = rtt.timeout();
    const hold = checkUnit === undefined
      ? timeout + Math.max(timeout, SILENCE_HOLD_MS)
      : timeout + SILENCE_PROOF_MS;
    while (heldHead < held.length) {
      const { slot, generation: queued } = held[heldHead]!;
      if (generation[slot] !== queued || hostOf[slot] === undefined) {
        heldHead++;
        continue;
      }
      if (timing.hostTimeout > 0 && hostExpired(hostIndexOf[slot]!, now)) {
        heldHead++;
        abandon(slot);
        continue;
      }
      // Paced tries are retried by the host's ICMP pace, never here.
      if (paced[slot] === 0 && tries[slot]! - 1 < retriesAllowed()) {
        heldHead++;
        stats.retries++;
        retryQueue.push({ slot, generation: generation[slot]! });
        continue;
      }
      if (answeredSentAt < sentAt[slot]! && judgeAt < sentAt[slot]! + hold) {
        if (!checking && now - checkSentAt >= timeout) checkPath(now);
        break;
      }
      heldHead++;
      decide(slot, { ...mode.silent });
    }
    if (heldHead > 1024 && heldHead * 2 > held.length) {
      held.splice(0, heldHead);
      heldHead = 0;
    }
  }

  /** A last try stayed silent: held for proof that the path answers, or decided at once. */
  function silent(slot: number): void {
    if (holds) held.push({ slot, generation: generation[slot]! });
    else decide(slot, { ...mode.silent });
  }

  /** Probe a unit that answered before, to learn whether the path answers now. */
  function checkPath(now: number): void {
    if (checkUnit === undefined) return;
    const { hostIndex, host, unit } = checkUnit;
    if (bySlotKey.has(keyOf(hostIndex, unit))) return;
    const slot = occupy(hostIndex, host, unit, -1);
    tries[slot] = checkAttempt;
    refused[slot] = MAX_REFUSALS; // a refused check is not sent again: the next one will be
    isCheck[slot] = 1;
    checking = true;
    checkSentAt = now;
    transmit(slot, now, false);
  }

  /** Deal with the tries whose deadline passed by `judgeAt` (the receiver has read that far). */
  function expire(judgeAt: number, now: number): void {
    const timeout = rtt.timeout();
    while (fifoHead < fifoTail) {
      const slot = fifoSlots[fifoHead % capacity]!;
      const queued = fifoGenerations[fifoHead % capacity]!;
      if (generation[slot] !== queued || hostOf[slot] === undefined) {
        fifoHead++; // stale: answered, or sent again since
        continue;
      }
      if (judgeAt < sentAt[slot]! + timeout) break;
      fifoHead++;
      if (isCheck[slot] === 1) {
        release(slot); // lost, or the path is stalled: the next check tells
        continue;
      }
      const hostKey = Number(hostIndexOf[slot]!);
      if (timing.hostTimeout > 0 && hostExpired(hostIndexOf[slot]!, now)) {
        abandon(slot);
        continue;
      }
      const unreachAt = lastUnreach.get(hostKey);
      if (mode.kind === "udp" && unreachAt !== undefined) {
        // The host sends unreachables but may be out of its ICMP budget: retry
        // at its refill pace; a paced try that stays silent is real silence.
        // On a lossy path one silent try proves less: ask twice.
        const pacedTries = options.pacedTries ?? (rate.lossRate > 0 ? 2 : 1);
        if (paced[slot]! >= pacedTries || tries[slot]! >= attempts) {
          // A paced try that drew nothing, with nothing else heard from the
          // host since it went: the host spent no ICMP on it, so its next
          // paced probe need not wait out the pace. (With loss on the path,
          // silence may be a lost unreachable that did spend the budget.)
          if (proving[slot] === 1 && pacedTries === 1 && unreachAt < sentAt[slot]!) {
            pacedNextAt.set(hostKey, now);
            const host = pacedHosts.get(hostKey);
            if (host !== undefined) host.nextAt = Math.min(host.nextAt, now);
          }
          silent(slot);
          continue;
        }
        let host = pacedHosts.get(hostKey);
        if (host === undefined) {
          host = {
            queue: [],
            nextAt: Math.max(now, unreachAt + paceMs, pacedNextAt.get(hostKey) ?? 0),
          };
          pacedHosts.set(hostKey, host);
        }
        host.queue.push({ slot, generation: generation[slot]! });
        stats.retries++;
        continue;
      }
      if (tries[slot]! - 1 < retriesAllowed()) {
        stats.retries++;
        retryQueue.push({ slot, generation: generation[slot]! });
      } else {
        silent(slot);
      }
    }
    releaseHeld(judgeAt, now);
  }

  /** The one {@link RawSend} handed to the I/O, refilled per try (it reads it at once). */
  const outgoing: RawSend = { slot: 0, hostIndex: 0n, host: undefined!, unit: 0, attempt: 0 };

  function transmit(slot: number, now: number, isPaced: boolean): void {
    previousRate[slot] = rateAt[slot]!;
    rateAt[slot] = rate.rate;
    sentAt[slot] = now;
    if (tries[slot] === 0) firstSentAt[slot] = now;
    proving[slot] = 0;
    if (isPaced) {
      // Only a try sent once the host's ICMP budget has refilled can prove silence.
      const unreachAt = lastUnreach.get(Number(hostIndexOf[slot]!)) ?? -Infinity;
      if (now - unreachAt >= paceMs * 0.95) {
        paced[slot] = paced[slot]! + 1;
        proving[slot] = 1;
      }
    }
    const attempt = tries[slot]!;
    tries[slot] = attempt + 1;
    generation[slot] = (generation[slot]! + 1) >>> 0;
    fifoPush(slot);
    stats.probes++;
    outgoing.slot = slot;
    outgoing.hostIndex = hostIndexOf[slot]!;
    outgoing.host = hostOf[slot]!;
    outgoing.unit = unitOf[slot]!;
    outgoing.attempt = attempt;
    io.send(outgoing);
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
    return occupy(item.hostIndex, item.host, item.portIndex, item.index);
  }

  /** A free slot for a unit of a host (`position` in the scan order, -1 for a path check). */
  function occupy(hostIndex: bigint, host: Host, unit: number, position: number): number {
    if (free.length === 0) grow();
    const slot = free.pop()!;
    hostIndexOf[slot] = hostIndex;
    unitOf[slot] = unit;
    positionOf[slot] = position;
    hostOf[slot] = host;
    tries[slot] = 0;
    paced[slot] = 0;
    refused[slot] = 0;
    proving[slot] = 0;
    rateAt[slot] = 0;
    bySlotKey.set(keyOf(hostIndex, unit), slot);
    inFlight++;
    if (inFlight > stats.peakInFlight) stats.peakInFlight = inFlight;
    return slot;
  }

  function sendPaced(now: number): number {
    let sent = 0;
    for (const [key, host] of pacedHosts) {
      if (host.nextAt > now) continue;
      let entry = host.queue.shift();
      // Entries answered meanwhile (a late reply) are stale.
      while (entry !== undefined && generation[entry.slot] !== entry.generation) {
        entry = host.queue.shift();
      }
      if (entry === undefined) {
        pacedHosts.delete(key);
        continue;
      }
      const slot = entry.slot;
      if (timing.hostTimeout > 0 && hostExpired(hostIndexOf[slot]!, now)) {
        abandon(slot);
        if (host.queue.length === 0) pacedHosts.delete(key);
        continue;
      }
      host.nextAt = now + paceMs;
      pacedNextAt.set(key, host.nextAt);
      // An empty queue must not keep the scan alive until the next pace.
      if (host.queue.length === 0) pacedHosts.delete(key);
      transmit(slot, now, true);
      sent++;
    }
    return sent;
  }

  let tokens = 0;
  let lastRefill = io.now();
  const start = lastRefill;
  let lastProgress = start;
  let lastCheckpoint = start;
  let drainUntil = Infinity;
  let seenDrops = 0;

  for (let round = 0;; round++) {
    let now = io.now();
    if (options.signal?.aborted && drainUntil === Infinity) {
      drainUntil = now + (options.drainMs ?? 1000);
      exhausted = true;
      retryQueue.length = 0;
      pacedHosts.clear();
    }
    const draining = drainUntil !== Infinity;
    if (now >= drainUntil) break;
    // Silence is judged up to the receiver's read point, taken before the
    // drain: every reply that arrived by then is handled first.
    const judgeAt = io.caughtUp === undefined
      ? now
      : Math.max(Math.min(now, io.caughtUp()), now - MAX_RECEIVER_LAG_MS);
    for (const record of io.receive()) handle(record);
    const receiver = io.receiverStats();
    if (receiver.drops > seenDrops) {
      seenDrops = receiver.drops;
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
    if (!draining) {
      sendPaced(now);
      const elapsed = Math.max(0, now - lastRefill);
      lastRefill = now;
      const current = rate.rate;
      tokens = Math.min(tokens + (elapsed * current) / 1000, Math.max(64, current * 0.004));
      let sent = 0;
      while (tokens >= 1 && inFlight - retryQueue.length < maxInFlight) {
        let slot: number | undefined;
        for (let entry = retryQueue.shift(); entry !== undefined; entry = retryQueue.shift()) {
          if (generation[entry.slot] === entry.generation) {
            slot = entry.slot;
            break;
          }
        }
        if (slot === undefined) slot = fresh(now);
        if (slot === undefined) break;
        transmit(slot, now, false);
        tokens--;
        sent++;
      }
      rate.sent(sent);
      if (rate.rate > stats.peakRate) stats.peakRate = rate.rate;
      for (const slot of io.flush()) {
        // Refused locally (a full queue): not the network's fault. Send it
        // again later, a few times; past that (no route, no source address,
        // a local firewall) the try stands as sent and lost, and the unit
        // ends as silence does.
        stats.sendErrors++;
        if (hostOf[slot] !== undefined && refused[slot]! < MAX_REFUSALS) {
          refused[slot] = refused[slot]! + 1;
          tries[slot] = Math.max(0, tries[slot]! - 1);
          generation[slot] = (generation[slot]! + 1) >>> 0;
          retryQueue.push({ slot, generation: generation[slot]! });
        }
      }
    }
    const idle = inFlight === 0 && exhausted && retryQueue.length === 0 && pacedHosts.size === 0;
    if (idle || (draining && inFlight === 0)) break;
    now = io.now();
    if (now - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = now;
      sink.progress?.(done, total);
    }
    if (now - lastCheckpoint >= CHECKPOINT_EVERY_MS) {
      lastCheckpoint = now;
      sink.checkpoint?.(tracker.point());
    }
    // Sleep until a token, a deadline or a paced retry is due; replies wake us sooner.
    let wait = 20;
    const canSend = !draining && (retryQueue.length > 0 || !exhausted) &&
      inFlight - retryQueue.length < maxInFlight;
    if (canSend && tokens < 1) wait = Math.min(wait, ((1 - tokens) / rate.rate) * 1000);
    else if (canSend) wait = 0;
    if (fifoHead < fifoTail) {
      const head = fifoSlots[fifoHead % capacity]!;
      const due = sentAt[head]! + rtt.timeout() - now;
      // Due already: the receiver has yet to read that far; give it a moment.
      wait = Math.min(wait, due > 0 ? due : 1);
    }
    for (const host of pacedHosts.values()) wait = Math.min(wait, host.nextAt - now);
    // Held tries end on a reply (which wakes us), a check's timeout or the hold: poll for the last two.
    if (heldHead < held.length) wait = Math.min(wait, 5);
    await io.wait(Math.max(0, Math.min(20, wait)));
  }
  const receiver = io.receiverStats();
  stats.receiverDrops = receiver.drops;
  stats.receiverPackets = receiver.packets;
  stats.backoffs = rate.backoffs;
  stats.peakRate = Math.round(Math.max(stats.peakRate, rate.peak));
  stats.lossRate = rate.lossRate;
  sink.checkpoint?.(tracker.point());
  sink.progress?.(done, total);
  return stats;
}
