/**
 * A map from non-negative integer keys (below 2^53) to non-negative int32
 * values, in typed arrays: open addressing with linear probing, and
 * deletion by backward shift (no tombstones, so a table with constant
 * churn never needs rebuilding). A wide scan looks up, adds and removes a
 * unit per probe; a `Map` costs a hash-table walk in a builtin each time
 * and keeps its deleted entries until it rehashes.
 *
 * @module
 */

const EMPTY = -1;

/** Integer keys to int32 values; see the module's documentation. */
export class IndexTable {
  #keys: Float64Array;
  #values: Int32Array;
  #mask: number;
  #size = 0;

  /** @param expected Entries expected at once (the table grows past that). */
  constructor(expected = 1024) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.#keys = new Float64Array(capacity).fill(EMPTY);
    this.#values = new Int32Array(capacity);
    this.#mask = capacity - 1;
  }

  /** Entries held. */
  get size(): number {
    return this.#size;
  }

  /** The value of `key`, or -1 when absent. */
  get(key: number): number {
    const keys = this.#keys;
    const mask = this.#mask;
    for (let i = slotOf(key, mask);; i = (i + 1) & mask) {
      const found = keys[i]!;
      if (found === key) return this.#values[i]!;
      if (found === EMPTY) return -1;
    }
  }

  /** Set `key` to `value` (a key already present is overwritten). */
  set(key: number, value: number): void {
    if ((this.#size + 1) * 2 > this.#keys.length) this.#grow();
    const keys = this.#keys;
    const mask = this.#mask;
    for (let i = slotOf(key, mask);; i = (i + 1) & mask) {
      const found = keys[i]!;
      if (found === key) {
        this.#values[i] = value;
        return;
      }
      if (found === EMPTY) {
        keys[i] = key;
        this.#values[i] = value;
        this.#size++;
        return;
      }
    }
  }

  /** Remove `key`; true when it was there. */
  delete(key: number): boolean {
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    let hole = slotOf(key, mask);
    for (;; hole = (hole + 1) & mask) {
      const found = keys[hole]!;
      if (found === key) break;
      if (found === EMPTY) return false;
    }
    // Shift back every later entry of the run that may not sit past the hole.
    for (let next = (hole + 1) & mask;; next = (next + 1) & mask) {
      const moving = keys[next]!;
      if (moving === EMPTY) break;
      const home = slotOf(moving, mask);
      // `moving` stays when its home lies cyclically in (hole, next].
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (stays) continue;
      keys[hole] = moving;
      values[hole] = values[next]!;
      hole = next;
    }
    keys[hole] = EMPTY;
    this.#size--;
    return true;
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    const capacity = keys.length * 2;
    this.#keys = new Float64Array(capacity).fill(EMPTY);
    this.#values = new Int32Array(capacity);
    this.#mask = capacity - 1;
    this.#size = 0;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== EMPTY) this.set(keys[i]!, values[i]!);
    }
  }
}

/** Home slot of `key`: its two 32-bit halves mixed (keys in a scan's order are far from uniform in their low bits). */
function slotOf(key: number, mask: number): number {
  const low = key >>> 0;
  const high = (key / 4294967296) >>> 0;
  let h = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 13;
  return h & mask;
}
