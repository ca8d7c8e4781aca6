/**
 * A binary min-heap of attempts keyed by deadline. Finished attempts are
 * skipped lazily instead of being removed.
 *
 * @module
 */

import type { Attempt } from "./connect_types.ts";

/** Min-heap on `attempt.deadline`. */
export class DeadlineHeap {
  #items: Attempt[] = [];

  /** Entries, live or finished. */
  get length(): number {
    return this.#items.length;
  }

  push(attempt: Attempt): void {
    const items = this.#items;
    items.push(attempt);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.deadline <= attempt.deadline) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = attempt;
  }

  /** The live attempt with the earliest deadline, dropping finished ones on the way. */
  peek(): Attempt | undefined {
    while (this.#items.length > 0 && this.#items[0]!.done) this.#pop();
    return this.#items[0];
  }

  /** Remove and return the earliest live attempt. */
  pop(): Attempt | undefined {
    return this.peek() === undefined ? undefined : this.#pop();
  }

  #pop(): Attempt | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= items.length) break;
        const right = left + 1;
        const child = right < items.length && items[right]!.deadline < items[left]!.deadline
          ? right
          : left;
        if (items[child]!.deadline >= last.deadline) break;
        items[i] = items[child]!;
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}
