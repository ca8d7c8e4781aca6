/**
 * Which positions of the scan order are finished, for resume points, in a
 * form cheap enough for the scheduler's rates. Positions finish nearly in order (sends are in order,
 * answers a round trip later), so the unfinished ones sit in a window after
 * the first unfinished position; a ring of flags over that window replaces
 * a set of numbers.
 *
 * @module
 */

import type { ResumePoint } from "./types.ts";

const INITIAL_WINDOW = 4096;

/** Finished positions: everything below `next`, and flags for those above. */
export class Completion {
  #next: number;
  #flags = new Uint8Array(INITIAL_WINDOW);
  /** Flags marked at positions above `next`. */
  #marked = 0;
  #highest = -1;

  constructor(resume?: ResumePoint) {
    this.#next = resume?.next ?? 0;
    for (const index of resume?.done ?? []) this.complete(index);
  }

  /** The first unfinished position. */
  get next(): number {
    return this.#next;
  }

  /** Mark `index` finished. */
  complete(index: number): void {
    if (index < this.#next) return;
    if (index - this.#next >= this.#flags.length) this.#grow(index - this.#next + 1);
    const flags = this.#flags;
    const size = flags.length;
    const at = index % size;
    if (flags[at] === 1) return;
    flags[at] = 1;
    this.#marked++;
    if (index > this.#highest) this.#highest = index;
    let next = this.#next;
    while (flags[next % size] === 1) {
      flags[next % size] = 0;
      next++;
      this.#marked--;
    }
    this.#next = next;
  }

  /** The resume point now. */
  point(): ResumePoint {
    const done: number[] = [];
    const size = this.#flags.length;
    for (
      let index = this.#next + 1;
      this.#marked > done.length && index <= this.#highest;
      index++
    ) {
      if (this.#flags[index % size] === 1) done.push(index);
    }
    return { next: this.#next, done };
  }

  #grow(span: number): void {
    let size = this.#flags.length;
    while (size < span * 2) size *= 2;
    const flags = new Uint8Array(size);
    const old = this.#flags;
    for (let index = this.#next; index <= this.#highest; index++) {
      flags[index % size] = old[index % old.length]!;
    }
    this.#flags = flags;
  }
}
