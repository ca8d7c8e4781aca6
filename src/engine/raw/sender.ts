/**
 * Batched sending through one socket with `sendmmsg`: packets are written
 * straight into an off-heap arena of message slots and handed to the kernel
 * a batch per call.
 *
 * @module
 */

import { allocateArena, type Arena, MMSGHDR_SIZE, type RawLibc } from "./libc.ts";
import { sendAll, type SendOffload } from "./send_offload.ts";

/** Bytes reserved for each slot's socket address (sockaddr_in6 or sockaddr_ll fit). */
const NAME_SIZE = 32;

/** Options of {@link BatchSender}. */
export interface BatchSenderOptions {
  /** Messages per `sendmmsg` call; 256 when omitted. */
  slots?: number;
  /** Largest packet, bytes; 1536 when omitted. */
  slotSize?: number;
}

/** What one {@link BatchSender.flush} did. */
export interface FlushResult {
  sent: number;
  /** Tags of the packets the kernel refused, with the errno. */
  failed: { tag: number; errno: number }[];
}

/** One arena of message slots, with what each slot's packet is for. */
interface Batch {
  arena: Arena;
  /** The offload's id of the arena (-1 without an offload). */
  id: number;
  tags: Float64Array;
  /** Each slot's buffers, made once: a packet costs no allocation. */
  slots: { packet: Uint8Array; name: Uint8Array }[];
}

/**
 * Queues packets into an arena and sends them with `sendmmsg`: inline, or
 * through a {@link SendOffload} (its worker sends a full arena while this
 * thread fills the next one).
 */
export class BatchSender {
  readonly capacity: number;
  readonly slotSize: number;
  #libc: RawLibc;
  #fd: number;
  #count = 0;
  #iovBase: number;
  #nameBase: number;
  #dataBase: number;
  #batches: Batch[] = [];
  #current = 0;
  #offload: SendOffload | undefined;
  /** Refusals the worker reported, as tags, not yet handed out. */
  #refused: { tag: number; errno: number }[] = [];

  constructor(
    libc: RawLibc,
    fd: number,
    options: BatchSenderOptions & { offload?: SendOffload } = {},
  ) {
    this.#libc = libc;
    this.#fd = fd;
    this.capacity = options.slots ?? 256;
    this.slotSize = options.slotSize ?? 1536;
    const n = this.capacity;
    this.#iovBase = n * MMSGHDR_SIZE;
    this.#nameBase = this.#iovBase + n * 16;
    this.#dataBase = this.#nameBase + n * NAME_SIZE;
    this.#offload = options.offload;
    const count = this.#offload === undefined ? 1 : ARENAS_WITH_OFFLOAD;
    for (let b = 0; b < count; b++) this.#batches.push(this.#batch());
  }

  #batch(): Batch {
    const n = this.capacity;
    const arena = allocateArena(this.#dataBase + n * this.slotSize);
    const { view, address } = arena;
    const slots: Batch["slots"] = [];
    for (let i = 0; i < n; i++) {
      const header = i * MMSGHDR_SIZE;
      view.setBigUint64(header, address + BigInt(this.#nameBase + i * NAME_SIZE), true);
      view.setBigUint64(header + 16, address + BigInt(this.#iovBase + i * 16), true);
      view.setBigUint64(header + 24, 1n, true);
      view.setBigUint64(
        this.#iovBase + i * 16,
        address + BigInt(this.#dataBase + i * this.slotSize),
        true,
      );
      const data = this.#dataBase + i * this.slotSize;
      const name = this.#nameBase + i * NAME_SIZE;
      slots.push({
        packet: arena.bytes.subarray(data, data + this.slotSize),
        name: arena.bytes.subarray(name, name + NAME_SIZE),
      });
    }
    return { arena, id: this.#offload?.arena() ?? -1, tags: new Float64Array(n), slots };
  }

  /** Packets queued and not yet sent. */
  get queued(): number {
    return this.#count;
  }

  /** Whether the batch is full (flush before the next packet). */
  get full(): boolean {
    return this.#count >= this.capacity;
  }

  /** The buffers of the next free slot: write the packet and its destination, then {@link commit}. */
  next(): { packet: Uint8Array; name: Uint8Array } {
    if (this.full) throw new RangeError(`Cannot queue packet: batch of ${this.capacity} is full`);
    return this.#batches[this.#current]!.slots[this.#count]!;
  }

  /** Queue the packet written into {@link next}'s slot. */
  commit(length: number, nameLength: number, tag: number): void {
    const i = this.#count;
    const batch = this.#batches[this.#current]!;
    const { view } = batch.arena;
    view.setUint32(i * MMSGHDR_SIZE + 8, nameLength, true);
    view.setBigUint64(this.#iovBase + i * 16 + 8, BigInt(length), true);
    batch.tags[i] = tag;
    this.#count++;
  }

  /** A refusal the offload's worker reported for one of this sender's arenas. */
  refused(id: number, index: number, errno: number): boolean {
    const batch = this.#batches.find((b) => b.id === id);
    if (batch === undefined) return false;
    this.#refused.push({ tag: batch.tags[index]!, errno });
    return true;
  }

  /**
   * Send everything queued (or hand it to the worker). A packet the kernel
   * refuses is skipped and reported: at once inline, from a later flush
   * when the worker sent it.
   */
  flush(): FlushResult {
    const offload = this.#offload;
    if (offload !== undefined && offload.ready) {
      const result: FlushResult = { sent: 0, failed: [] };
      if (this.#count > 0) {
        const batch = this.#batches[this.#current]!;
        offload.submit({
          fd: this.#fd,
          address: batch.arena.address,
          count: this.#count,
          arena: batch.id,
        });
        result.sent = this.#count;
        this.#count = 0;
        this.#current = (this.#current + 1) % this.#batches.length;
        // Its tags must stay until the worker's refusals of it have been read.
        offload.waitFree(this.#batches[this.#current]!.id);
      } else offload.drain();
      result.failed = this.#refused.splice(0);
      return result;
    }
    return this.#flushInline();
  }

  #flushInline(): FlushResult {
    const result: FlushResult = { sent: 0, failed: this.#refused.splice(0) };
    const batch = this.#batches[this.#current]!;
    const { bytes } = batch.arena;
    const libc = this.#libc;
    result.sent = sendAll(this.#count, {
      send: (first, left) =>
        libc.symbols.sendmmsg(this.#fd, bytes.subarray(first * MMSGHDR_SIZE), left, 0),
      errno: () => libc.errno(),
      refuse: (index, errno) => result.failed.push({ tag: batch.tags[index]!, errno }),
    });
    this.#count = 0;
    return result;
  }
}

/**
 * Arenas a sender rotates through when a worker sends: one filling, the rest
 * queued or sending. A paced round (10 ms at 100,000/s: 1,000 probes) fits
 * in them, so the scan's thread hands it over and goes back to the answers
 * instead of waiting for the worker's first batches (with 4 it waited ~2 s
 * of a /16 sweep).
 */
const ARENAS_WITH_OFFLOAD = 16;
