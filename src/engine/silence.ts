/**
 * Proof of silence: a last try that drew nothing is called silent only once
 * the path is shown to still answer, that is once a probe sent after it drew
 * an answer. While none has (a stalled relay, a busy router, a receiver that
 * fell behind), its answer may merely be late: the try is held, and a path
 * check (as nmap's timing pings) re-probes a unit that answered before.
 * Past {@link SILENCE_PROOF_MS} without proof silence stands anyway; where
 * nothing in the scan ever answered, a short hold stands instead.
 *
 * @module
 */

import type { Host } from "../targets/types.ts";
import type { SlotTable } from "./slots.ts";

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

/** A unit that answered, to check the path with. */
export interface CheckUnit {
  hostIndex: bigint;
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

/** Held last tries and the path checks that release them. */
export class SilenceProof {
  /** Latest send time of a try that drew an answer: the path answered up to there. */
  answeredSentAt = -Infinity;
  /** A unit that answered (TCP, or UDP data: never an ICMP-budget spender). */
  checkUnit: CheckUnit | undefined;
  /** Whether a path check is in flight. */
  checking = false;
  #checkSentAt = -Infinity;
  #held: { slot: number; generation: number }[] = [];
  #head = 0;
  #slots: SlotTable;

  constructor(slots: SlotTable) {
    this.#slots = slots;
  }

  /** Whether tries are held. */
  get pending(): boolean {
    return this.#head < this.#held.length;
  }

  /** Hold a last try that stayed silent past its deadline. */
  hold(slot: number): void {
    this.#held.push({ slot, generation: this.#slots.generation[slot]! });
  }

  /** A try sent at `sentAt` drew an answer. */
  answered(sentAt: number): void {
    if (sentAt > this.answeredSentAt) this.answeredSentAt = sentAt;
  }

  /** A path check went out at `now`. */
  checkSent(now: number): void {
    this.checking = true;
    this.#checkSentAt = now;
  }

  /**
   * Judge the held tries, in send order (the first that must wait stops the
   * walk): dealt with otherwise, silent once proof came or the hold ran out,
   * else a path check goes out if none is in flight.
   */
  release(judgeAt: number, now: number, timeout: number, handler: HeldHandler): void {
    const slots = this.#slots;
    const hold = this.checkUnit === undefined
      ? timeout + Math.max(timeout, SILENCE_HOLD_MS)
      : timeout + SILENCE_PROOF_MS;
    while (this.#head < this.#held.length) {
      const { slot, generation } = this.#held[this.#head]!;
      if (!slots.live(slot, generation)) {
        this.#head++;
        continue;
      }
      if (handler.settleOtherwise(slot, now)) {
        this.#head++;
        continue;
      }
      const sentAt = slots.sentAt[slot]!;
      if (this.answeredSentAt < sentAt && judgeAt < sentAt + hold) {
        const unit = this.checkUnit;
        if (!this.checking && unit !== undefined && now - this.#checkSentAt >= timeout) {
          if (slots.find(unit.hostIndex, unit.unit) === undefined) handler.check(unit, now);
        }
        break;
      }
      this.#head++;
      handler.silent(slot);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#held.length) {
      this.#held.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
