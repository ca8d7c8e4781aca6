/**
 * The scheduler's slot table: what it knows of each unit in flight, in
 * growable typed arrays (no object per probe), with a free list, a map from
 * (host, unit) to slot, and the deadline FIFO. Sends are in time order, so
 * the oldest deadline is always at the FIFO's head; an entry goes stale when
 * its slot is sent again or freed (its generation moved on).
 *
 * @module
 */

import { IndexTable } from "./index_table.ts";

const INITIAL_CAPACITY = 1024;

/** Per-slot state of the units in flight. Fields are public arrays: the scheduler's hot path reads them. */
export class SlotTable {
  capacity = INITIAL_CAPACITY;
  hostIndexOf = new BigInt64Array(INITIAL_CAPACITY);
  unitOf = new Int32Array(INITIAL_CAPACITY);
  /** Position in the scan order (-1 for a path check). */
  positionOf = new Float64Array(INITIAL_CAPACITY);
  /** When the latest try went. */
  sentAt = new Float64Array(INITIAL_CAPACITY);
  /** When the first try went. */
  firstSentAt = new Float64Array(INITIAL_CAPACITY);
  /** Tries sent so far. */
  tries = new Uint8Array(INITIAL_CAPACITY);
  /** Paced UDP tries that count as proof of silence. */
  paced = new Uint8Array(INITIAL_CAPACITY);
  /** Times the transport refused to send this unit's tries. */
  refused = new Uint8Array(INITIAL_CAPACITY);
  /** 1 while the unit's last try is a paced one sent with the host's ICMP budget refilled. */
  proving = new Uint8Array(INITIAL_CAPACITY);
  /** 1 for a path check: a probe of a unit already decided, sent only to see the path answer. */
  isCheck = new Uint8Array(INITIAL_CAPACITY);
  /**
   * The sending rate when the latest try went, and when the one before went
   * (single precision: they only pick a rate band; a sweep holds 100,000 slots).
   */
  rateAt = new Float32Array(INITIAL_CAPACITY);
  previousRate = new Float32Array(INITIAL_CAPACITY);
  /** Bumped on every send from a slot and when it is freed, so queued entries go stale. */
  generation = new Uint32Array(INITIAL_CAPACITY);
  /**
   * 1 while the slot holds a unit. No Host object is kept: a wide sweep holds
   * tens of thousands of units for seconds, and their hosts would outlive the
   * young generation only to die in the old one.
   */
  occupied = new Uint8Array(INITIAL_CAPACITY);
  /** Slots in use. */
  inUse = 0;
  /** Free slots, a stack. */
  #free = new Int32Array(INITIAL_CAPACITY);
  #freeCount = 0;
  #byKey = new IndexTable(INITIAL_CAPACITY);
  #units: number;
  #fifoSlots = new Int32Array(INITIAL_CAPACITY);
  #fifoGenerations = new Uint32Array(INITIAL_CAPACITY);
  #fifoHead = 0;
  #fifoTail = 0;

  /** @param units Units per host, to key (host, unit) pairs. */
  constructor(units: number) {
    this.#units = units;
    for (let i = INITIAL_CAPACITY - 1; i >= 0; i--) this.#free[this.#freeCount++] = i;
  }

  /** The slot of (host, unit), if it is in flight. */
  find(hostIndex: bigint, unit: number): number | undefined {
    const slot = this.#byKey.get(this.#key(hostIndex, unit));
    return slot < 0 ? undefined : slot;
  }

  /** Take a free slot for a unit of a host. */
  occupy(hostIndex: bigint, unit: number, position: number): number {
    if (this.#freeCount === 0) this.#grow();
    const slot = this.#free[--this.#freeCount]!;
    this.hostIndexOf[slot] = hostIndex;
    this.unitOf[slot] = unit;
    this.positionOf[slot] = position;
    this.occupied[slot] = 1;
    this.tries[slot] = 0;
    this.paced[slot] = 0;
    this.refused[slot] = 0;
    this.proving[slot] = 0;
    this.isCheck[slot] = 0;
    this.rateAt[slot] = 0;
    this.#byKey.set(this.#key(hostIndex, unit), slot);
    this.inUse++;
    return slot;
  }

  /** Free a slot; entries queued for it go stale. */
  free(slot: number): void {
    this.#byKey.delete(this.#key(this.hostIndexOf[slot]!, this.unitOf[slot]!));
    this.occupied[slot] = 0;
    this.tries[slot] = 0;
    this.isCheck[slot] = 0;
    this.bump(slot);
    this.inUse--;
    this.#free[this.#freeCount++] = slot;
  }

  /** Move a slot's generation on (a new try, or a refused one taken back). */
  bump(slot: number): void {
    this.generation[slot] = (this.generation[slot]! + 1) >>> 0;
  }

  /** Whether an entry queued as (slot, generation) still stands. */
  live(slot: number, generation: number): boolean {
    return this.generation[slot] === generation && this.occupied[slot] === 1;
  }

  /** Queue the slot's latest try for its deadline. */
  pushDeadline(slot: number): void {
    // At most one live entry per slot plus stale ones: bounded by the capacity.
    if (this.#fifoTail - this.#fifoHead >= this.capacity) this.#grow();
    const at = this.#fifoTail % this.capacity;
    this.#fifoSlots[at] = slot;
    this.#fifoGenerations[at] = this.generation[slot]!;
    this.#fifoTail++;
  }

  /** The oldest live try's slot, dropping stale entries on the way; undefined when none. */
  oldest(): number | undefined {
    while (this.#fifoHead < this.#fifoTail) {
      const at = this.#fifoHead % this.capacity;
      const slot = this.#fifoSlots[at]!;
      if (this.live(slot, this.#fifoGenerations[at]!)) return slot;
      this.#fifoHead++;
    }
    return undefined;
  }

  /** Take the oldest entry off the FIFO (after {@link oldest} named it). */
  shiftDeadline(): void {
    this.#fifoHead++;
  }

  #key(hostIndex: bigint, unit: number): number {
    return Number(hostIndex) * this.#units + unit;
  }

  #grow(): void {
    const old = this.capacity;
    const next = old * 2;
    const grown = <T extends { set(array: T): void }>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.hostIndexOf = grown(this.hostIndexOf, new BigInt64Array(next));
    this.unitOf = grown(this.unitOf, new Int32Array(next));
    this.positionOf = grown(this.positionOf, new Float64Array(next));
    this.sentAt = grown(this.sentAt, new Float64Array(next));
    this.firstSentAt = grown(this.firstSentAt, new Float64Array(next));
    this.tries = grown(this.tries, new Uint8Array(next));
    this.paced = grown(this.paced, new Uint8Array(next));
    this.refused = grown(this.refused, new Uint8Array(next));
    this.proving = grown(this.proving, new Uint8Array(next));
    this.isCheck = grown(this.isCheck, new Uint8Array(next));
    this.rateAt = grown(this.rateAt, new Float32Array(next));
    this.previousRate = grown(this.previousRate, new Float32Array(next));
    this.generation = grown(this.generation, new Uint32Array(next));
    this.occupied = grown(this.occupied, new Uint8Array(next));
    this.#free = grown(this.#free, new Int32Array(next));
    for (let i = next - 1; i >= old; i--) this.#free[this.#freeCount++] = i;
    // The FIFO is unrolled into the larger ring.
    const slots = new Int32Array(next);
    const generations = new Uint32Array(next);
    const count = this.#fifoTail - this.#fifoHead;
    for (let i = 0; i < count; i++) {
      slots[i] = this.#fifoSlots[(this.#fifoHead + i) % old]!;
      generations[i] = this.#fifoGenerations[(this.#fifoHead + i) % old]!;
    }
    this.#fifoSlots = slots;
    this.#fifoGenerations = generations;
    this.#fifoHead = 0;
    this.#fifoTail = count;
    this.capacity = next;
  }
}

/**
 * A FIFO of (slot, generation) pairs in growable typed arrays: the retry
 * queue of a wide scan holds tens of thousands, an object each would be
 * garbage that lives long enough to be promoted.
 */
export class SlotQueue {
  #slots = new Int32Array(1024);
  #generations = new Uint32Array(1024);
  #head = 0;
  #tail = 0;

  /** Entries queued (stale ones included). */
  get length(): number {
    return this.#tail - this.#head;
  }

  push(slot: number, generation: number): void {
    if (this.#tail === this.#slots.length) {
      const count = this.#tail - this.#head;
      const size = count * 2 > this.#slots.length ? this.#slots.length * 2 : this.#slots.length;
      const slots = new Int32Array(size);
      const generations = new Uint32Array(size);
      slots.set(this.#slots.subarray(this.#head, this.#tail));
      generations.set(this.#generations.subarray(this.#head, this.#tail));
      this.#slots = slots;
      this.#generations = generations;
      this.#head = 0;
      this.#tail = count;
    }
    this.#slots[this.#tail] = slot;
    this.#generations[this.#tail++] = generation;
  }

  /** The oldest entry still current in `table` (stale ones are dropped), or -1. */
  shiftLive(table: SlotTable): number {
    while (this.#head < this.#tail) {
      const slot = this.#slots[this.#head]!;
      const generation = this.#generations[this.#head++]!;
      if (this.#head === this.#tail) this.#head = this.#tail = 0;
      if (table.generation[slot] === generation) return slot;
    }
    return -1;
  }

  /** The oldest entry's slot (-1 when empty), left in place. */
  peekSlot(): number {
    return this.#head < this.#tail ? this.#slots[this.#head]! : -1;
  }

  /** The oldest entry's generation, left in place. */
  peekGeneration(): number {
    return this.#generations[this.#head]!;
  }

  /** Drop the oldest entry. */
  drop(): void {
    if (this.#head < this.#tail) this.#head++;
    if (this.#head === this.#tail) this.#head = this.#tail = 0;
  }

  clear(): void {
    this.#head = this.#tail = 0;
  }
}
