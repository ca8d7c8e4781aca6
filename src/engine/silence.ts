/**
 * Proof of silence, per host: a last try that drew nothing is called silent
 * only once the path to its host is shown to still answer, that is once a
 * probe to the same host sent after it drew an answer. While none has (a
 * stalled relay, a busy router, a neighbour still being resolved, a
 * receiver that fell behind), its answer may merely be late: the try is
 * held, and a path check (as nmap's timing pings) re-probes a unit of that
 * host that answered before. Past {@link SILENCE_PROOF_MS} without proof
 * silence stands anyway. A host never heard from is given as long from its
 * first probe ({@link ProofTimes.unheard}): its path is not measured yet (a
 * neighbour still being resolved drops or queues the first packets for a
 * second or more), and another host's answers prove nothing of it.
 *
 * @module
 */

import type { Host } from "../targets/types.ts";
import { IndexTable } from "./index_table.ts";
import { SlotQueue, type SlotTable } from "./slots.ts";

/** Least extra wait before a last try's silence stands on a host never heard from, ms. */
export const SILENCE_HOLD_MS = 100;

/**
 * Longest wait for proof that the path still answers before a last try's
 * silence stands anyway (the path or the host went away), ms.
 */
export const SILENCE_PROOF_MS = 2000;

/** A unit that answered, to check the path with. */
export interface CheckUnit {
  readonly hostIndex: bigint;
  host: Host;
  unit: number;
}

/** What the scheduler does with a held try when the proof walk reaches it. */
export interface HeldHandler {
  /** Deal with the slot otherwise (retry it, abandon its host); true when it did. */
  settleOtherwise(slot: number, now: number): boolean;
  /** Its silence stands. */
  silent(slot: number): void;
  /** Send a path check to `unit`. */
  check(unit: CheckUnit, now: number): void;
}

/**
 * What is known of the path to one host that has answered: one small record
 * per host that answered (a wide sweep keeps tens of thousands).
 */
interface HostPath {
  /** Latest send time of a try to it that drew an answer. */
  answeredSentAt: number;
  /** A unit of it that answered with the target's own voice (never an ICMP-budget spender), or -1. */
  checkUnit: number;
  checking: boolean;
  checkSentAt: number;
}

/** Timeouts the proof walk judges by, ms. */
export interface ProofTimes {
  /** The current probe timeout. */
  timeout: number;
  /** How long from its first probe a host never heard from is waited for. */
  unheard: number;
}

/** What {@link SilenceProof}'s walk made of a held try: settled, to wait, or to wait for its host's first probe to age. */
type Judged = "done" | "wait" | "young";

/** Most hosts whose first probes are told apart by a bit each (2^27: 16 MB). */
const MAX_TRACKED_HOSTS = 2 ** 27;

/**
 * When each host got its first probe, while that is recent (within the
 * `unheard` wait): a window of hosts in the order they were first probed,
 * and one bit per host of the scan for "probed before". A host's units are
 * spread over the whole scan; only those sent in the first moments after
 * its first probe wait for its path to be resolved, the rest as long as a
 * host heard from waits for its timeout.
 */
export class FirstProbes {
  #seen: Uint8Array | undefined;
  #recent = new IndexTable();
  /** Host indexes, below {@link MAX_TRACKED_HOSTS}. */
  #hosts = new Int32Array(1024);
  #times = new Float64Array(1024);
  #head = 0;
  #tail = 0;

  /** @param hosts Hosts in the scan: past {@link MAX_TRACKED_HOSTS}, each unit counts from its own first try. */
  constructor(hosts: bigint) {
    if (hosts <= BigInt(MAX_TRACKED_HOSTS)) {
      this.#seen = new Uint8Array(Math.ceil(Number(hosts) / 8));
    }
  }

  /** A unit of the host went out for the first time at `at`. */
  sent(hostIndex: bigint, at: number): void {
    const seen = this.#seen;
    if (seen === undefined) return;
    const key = Number(hostIndex);
    const byte = key >>> 3;
    const bit = 1 << (key & 7);
    if ((seen[byte]! & bit) !== 0) return;
    seen[byte] = seen[byte]! | bit;
    if (this.#tail === this.#hosts.length) this.#compact();
    this.#hosts[this.#tail] = key;
    this.#times[this.#tail] = at;
    this.#recent.set(key, this.#tail++);
  }

  /**
   * When the host's first probe went, if within `window` ms of `now`;
   * -Infinity when longer ago; `fallback` when not known (a scan of more
   * hosts than are told apart).
   */
  firstAt(hostIndex: bigint, now: number, window: number, fallback: number): number {
    if (this.#seen === undefined) return fallback;
    while (this.#head < this.#tail && this.#times[this.#head]! < now - window) {
      this.#recent.delete(this.#hosts[this.#head++]!);
    }
    const at = this.#recent.get(Number(hostIndex));
    return at < 0 ? -Infinity : this.#times[at]!;
  }

  #compact(): void {
    const count = this.#tail - this.#head;
    const size = count * 2 > this.#hosts.length ? this.#hosts.length * 2 : this.#hosts.length;
    const hosts = new Int32Array(size);
    const times = new Float64Array(size);
    hosts.set(this.#hosts.subarray(this.#head, this.#tail));
    times.set(this.#times.subarray(this.#head, this.#tail));
    for (let i = 0; i < count; i++) this.#recent.set(hosts[i]!, i);
    this.#hosts = hosts;
    this.#times = times;
    this.#head = 0;
    this.#tail = count;
  }
}

/** Held last tries and the path checks that release them. */
export class SilenceProof {
  #paths = new Map<number, HostPath>();
  #held = new SlotQueue();
  /** Held tries that wait only for their never-heard host's first probe to age. */
  #youngHosts = new SlotQueue();
  #slots: SlotTable;
  #hostAt: (hostIndex: bigint) => Host;
  #first: FirstProbes;

  /**
   * @param hostAt The host at an index (a path check is sent to a unit decided long ago).
   * @param hosts Hosts in the scan.
   */
  constructor(slots: SlotTable, hostAt: (hostIndex: bigint) => Host, hosts: bigint) {
    this.#slots = slots;
    this.#hostAt = hostAt;
    this.#first = new FirstProbes(hosts);
  }

  /** A unit's first try went to the host at `hostIndex` at `at`. */
  sent(hostIndex: bigint, at: number): void {
    this.#first.sent(hostIndex, at);
  }

  /** Whether anything of the host at `hostIndex` has answered yet. */
  heard(hostIndex: bigint): boolean {
    return this.#paths.has(Number(hostIndex));
  }

  /** Whether tries are held. */
  get pending(): boolean {
    return this.#held.length > 0 || this.#youngHosts.length > 0;
  }

  /** Hold a last try that stayed silent past its deadline. */
  hold(slot: number): void {
    this.#held.push(slot, this.#slots.generation[slot]!);
  }

  /**
   * A try to the unit in `slot`, sent at `sentAt`, drew an answer;
   * `checkable` when the answer was the target's own (the unit may serve as
   * a path check). Called once per answer: nothing is allocated but a host's
   * first record.
   */
  answered(slot: number, sentAt: number, checkable: boolean): void {
    const slots = this.#slots;
    const key = Number(slots.hostIndexOf[slot]!);
    let path = this.#paths.get(key);
    if (path === undefined) {
      path = { answeredSentAt: -Infinity, checkUnit: -1, checking: false, checkSentAt: 0 };
      this.#paths.set(key, path);
    }
    if (sentAt > path.answeredSentAt) path.answeredSentAt = sentAt;
    // The latest unit that answered checks the path best.
    if (checkable) path.checkUnit = slots.unitOf[slot]!;
  }

  /** A path check to `hostIndex` went out at `now`. */
  checkSent(hostIndex: bigint, now: number): void {
    const path = this.#paths.get(Number(hostIndex));
    if (path === undefined) return;
    path.checking = true;
    path.checkSentAt = now;
  }

  /** The path check to `hostIndex` is over (answered or lost). */
  checkDone(hostIndex: bigint): void {
    const path = this.#paths.get(Number(hostIndex));
    if (path !== undefined) path.checking = false;
  }

  /**
   * Judge the held tries, in send order (the first that must wait stops the
   * walk): dealt with otherwise, silent once proof came or the hold ran out,
   * else a path check goes to its host if none is in flight. A try that
   * waits only for its never-heard host's first probe to age moves to a
   * queue of its own, so that it does not hold up the tries behind it.
   */
  release(judgeAt: number, now: number, times: ProofTimes, handler: HeldHandler): void {
    const held = this.#held;
    const young = this.#youngHosts;
    while (held.length > 0) {
      const slot = held.peekSlot();
      const generation = held.peekGeneration();
      const verdict = this.#judge(slot, generation, judgeAt, now, times, handler);
      if (verdict === "wait") break;
      held.drop();
      if (verdict === "young") young.push(slot, generation);
    }
    while (young.length > 0) {
      const verdict = this.#judge(
        young.peekSlot(),
        young.peekGeneration(),
        judgeAt,
        now,
        times,
        handler,
      );
      if (verdict !== "done") break;
      young.drop();
    }
  }

  /** One held try: settled (silent, retried, stale), or to wait, and why. */
  #judge(
    slot: number,
    generation: number,
    judgeAt: number,
    now: number,
    times: ProofTimes,
    handler: HeldHandler,
  ): Judged {
    const slots = this.#slots;
    if (!slots.live(slot, generation)) return "done";
    if (handler.settleOtherwise(slot, now)) return "done";
    const { timeout } = times;
    const sentAt = slots.sentAt[slot]!;
    const hostIndex = slots.hostIndexOf[slot]!;
    const path = this.#paths.get(Number(hostIndex));
    if (path === undefined) {
      // Never heard from: the path is not measured yet, so the host's first
      // probe is waited for as long as `unheard`.
      if (judgeAt < sentAt + timeout + Math.max(timeout, SILENCE_HOLD_MS)) return "wait";
      // The host's first probe is no later than this unit's first try.
      const first = this.#first.firstAt(
        hostIndex,
        judgeAt,
        times.unheard,
        slots.firstSentAt[slot]!,
      );
      if (judgeAt < first + times.unheard) return "young";
    } else {
      const wait = path.answeredSentAt < sentAt && judgeAt < sentAt + timeout + SILENCE_PROOF_MS;
      const unit = path.checkUnit;
      if (wait && !path.checking && unit >= 0 && now - path.checkSentAt >= timeout) {
        if (slots.find(hostIndex, unit) === undefined) {
          handler.check({ hostIndex, host: this.#hostAt(hostIndex), unit }, now);
        }
      }
      if (wait) return "wait";
    }
    handler.silent(slot);
    return "done";
  }
}
