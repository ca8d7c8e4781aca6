/**
 * Batched sending through one socket with `sendmmsg`: packets are written
 * straight into an off-heap arena of message slots and handed to the kernel
 * a batch per call.
 *
 * @module
 */

import { allocateArena, type Arena, MMSGHDR_SIZE, RawErrno, type RawLibc } from "./libc.ts";

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

/** Queues packets into an arena and sends them with `sendmmsg`. */
export class BatchSender {
  readonly capacity: number;
  readonly slotSize: number;
  #libc: RawLibc;
  #fd: number;
  #arena: Arena;
  #count = 0;
  #tags: Float64Array;
  #iovBase: number;
  #nameBase: number;
  #dataBase: number;
  /** Each slot's buffers, made once: a packet costs no allocation. */
  #slots: { packet: Uint8Array; name: Uint8Array }[] = [];

  constructor(libc: RawLibc, fd: number, options: BatchSenderOptions = {}) {
    this.#libc = libc;
    this.#fd = fd;
    this.capacity = options.slots ?? 256;
    this.slotSize = options.slotSize ?? 1536;
    const n = this.capacity;
    this.#iovBase = n * MMSGHDR_SIZE;
    this.#nameBase = this.#iovBase + n * 16;
    this.#dataBase = this.#nameBase + n * NAME_SIZE;
    this.#arena = allocateArena(this.#dataBase + n * this.slotSize);
    this.#tags = new Float64Array(n);
    const { view, address } = this.#arena;
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
      this.#slots.push({
        packet: this.#arena.bytes.subarray(data, data + this.slotSize),
        name: this.#arena.bytes.subarray(name, name + NAME_SIZE),
      });
    }
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
    return this.#slots[this.#count]!;
  }

  /** Queue the packet written into {@link next}'s slot. */
  commit(length: number, nameLength: number, tag: number): void {
    const i = this.#count;
    const { view } = this.#arena;
    view.setUint32(i * MMSGHDR_SIZE + 8, nameLength, true);
    view.setBigUint64(this.#iovBase + i * 16 + 8, BigInt(length), true);
    this.#tags[i] = tag;
    this.#count++;
  }

  /** Send everything queued. A packet the kernel refuses is skipped and reported. */
  flush(): FlushResult {
    const result: FlushResult = { sent: 0, failed: [] };
    const { bytes } = this.#arena;
    let at = 0;
    let busy = 0;
    // Each turn sends at least one message or gives one up, so this ends.
    while (at < this.#count) {
      const sent = this.#libc.symbols.sendmmsg(
        this.#fd,
        bytes.subarray(at * MMSGHDR_SIZE),
        this.#count - at,
        0,
      );
      if (sent > 0) {
        result.sent += sent;
        at += sent;
        busy = 0;
        continue;
      }
      const errno = this.#libc.errno();
      if ((errno === RawErrno.ENOBUFS || errno === RawErrno.EAGAIN) && busy < 100) {
        busy++;
        continue;
      }
      if (errno === RawErrno.EINTR) continue;
      result.failed.push({ tag: this.#tags[at]!, errno });
      at++;
      busy = 0;
    }
    this.#count = 0;
    return result;
  }
}
