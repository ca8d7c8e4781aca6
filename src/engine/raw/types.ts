/**
 * Types of the raw-socket engine: the plan with its shard, the kinds of
 * probes, the replies the receiver hands over, and the engine's counters.
 *
 * @module
 */

/** What the raw engine scans. */
export type RawScanType = "syn" | "udp";

/** A host-discovery probe (-PE, -PS443, -PA80, ARP / neighbour discovery). */
export type DiscoveryProbe =
  | { kind: "echo" }
  | { kind: "syn"; port: number }
  | { kind: "ack"; port: number }
  | { kind: "arp" };

/** Kinds of reply the receiver reports. */
export const ReplyKind = {
  SynAck: 1,
  Reset: 2,
  IcmpError: 3,
  Udp: 4,
  EchoReply: 5,
  Arp: 6,
  Neighbor: 7,
} as const;

/**
 * A reply the receiver validated against our cookies, as posted from the
 * receive worker: plain data, cheap to clone.
 */
export interface ReplyRecord {
  kind: number;
  family: 4 | 6;
  /** The probed host's address: a number for IPv4, a bigint for IPv6. */
  address: number | bigint;
  /** The probed port; 0 for echo, ARP and neighbour discovery. */
  port: number;
  /** IP protocol of the probe answered (6, 17, 1 or 58); 0 for ARP/ND. */
  protocol: number;
  /** Which try of the probe was answered, from 0. */
  attempt: number;
  ttl: number;
  /** Arrival, ms since the epoch (timeOrigin + now, comparable across threads). */
  at: number;
  /** nmap's reason name. */
  reason: string;
  /** For ICMP errors: whether the probed host itself sent it. */
  fromTarget: boolean;
  /** ARP / ND replies: the sender's hardware address, 48 bits as a number. */
  mac?: number;
}

/** Configuration the receive worker starts with. */
export interface ReceiverConfig {
  key: Uint8Array;
  ports: { first: number; last: number };
  attempts: number;
  /** Encoded BPF program (struct sock_filter array). */
  filter: Uint8Array;
  /** Our addresses (IPv4 numbers, IPv6 bytes): ARP replies must be addressed to one of them. */
  addresses: (number | Uint8Array)[];
  /** The reply ring, see {@link createReplyRing}. */
  shared: SharedArrayBuffer;
  /** Receive timeout, ms, after which the worker looks at the stop flag. */
  pollMs: number;
}

/** nmap's reason names, coded by index in the reply ring. */
export const REASONS: readonly string[] = Object.freeze([
  "unknown-response",
  "syn-ack",
  "reset",
  "udp-response",
  "echo-reply",
  "arp-response",
  "nd-response",
  "port-unreach",
  "net-unreach",
  "host-unreach",
  "proto-unreach",
  "net-prohibited",
  "host-prohibited",
  "admin-prohibited",
  "no-route",
  "beyond-scope",
  "reject-route",
  "dest-unreach",
  "time-exceeded",
  "source-quench",
  "param-problem",
]);

const REASON_CODES = new Map(REASONS.map((reason, index) => [reason, index]));

/** Numbers per record in the ring. */
const FIELDS = 13;
/**
 * Header: Int32 stop, state, written, read; then Float64 packets, drops,
 * overflows; then BigInt64 caught-up time, µs since the epoch.
 */
const HEADER_BYTES = 64;

/**
 * A single-producer, single-consumer ring of replies in shared memory: the
 * receive worker writes, the scanner reads. No structured cloning and no
 * dependence on either thread's event loop.
 */
export class ReplyRing {
  readonly shared: SharedArrayBuffer;
  readonly capacity: number;
  #control: Int32Array;
  #counters: Float64Array;
  #records: Float64Array;
  #caughtUp: BigInt64Array;

  constructor(shared: SharedArrayBuffer) {
    this.shared = shared;
    this.capacity = Math.floor((shared.byteLength - HEADER_BYTES) / (FIELDS * 8));
    this.#control = new Int32Array(shared, 0, 4);
    this.#counters = new Float64Array(shared, 16, 3);
    this.#caughtUp = new BigInt64Array(shared, 40, 1);
    this.#records = new Float64Array(shared, HEADER_BYTES, this.capacity * FIELDS);
  }

  /** A ring of `capacity` records. */
  static create(capacity: number): ReplyRing {
    return new ReplyRing(new SharedArrayBuffer(HEADER_BYTES + capacity * FIELDS * 8));
  }

  /** Ask the worker to stop. */
  stop(): void {
    Atomics.store(this.#control, 0, 1);
  }

  get stopped(): boolean {
    return Atomics.load(this.#control, 0) !== 0;
  }

  /** 0 starting, 1 ready, 2 failed. */
  get state(): number {
    return Atomics.load(this.#control, 1);
  }

  set state(value: number) {
    Atomics.store(this.#control, 1, value);
  }

  /** Packets the socket handed over, drops it reported, and replies lost to a full ring. */
  get counters(): { packets: number; drops: number; overflows: number } {
    return {
      packets: this.#counters[0]!,
      drops: this.#counters[1]!,
      overflows: this.#counters[2]!,
    };
  }

  /** Add to the counters (worker side). */
  count(packets: number, drops: number): void {
    this.#counters[0] = this.#counters[0]! + packets;
    this.#counters[1] = this.#counters[1]! + drops;
  }

  /**
   * Every reply that reached the socket before this time (ms since the
   * epoch) is in the ring: the worker's last read found the socket empty
   * then. 0 before the first read.
   */
  get caughtUp(): number {
    return Number(Atomics.load(this.#caughtUp, 0)) / 1000;
  }

  /** Worker side: set after the records read up to `at` are pushed. */
  set caughtUp(at: number) {
    Atomics.store(this.#caughtUp, 0, BigInt(Math.floor(at * 1000)));
  }

  /** Append a record; false (and counted) when the ring is full. */
  push(record: ReplyRecord): boolean {
    const written = Atomics.load(this.#control, 2);
    const read = Atomics.load(this.#control, 3);
    if (((written - read) | 0) >= this.capacity) {
      this.#counters[2] = this.#counters[2]! + 1;
      return false;
    }
    const at = ((written >>> 0) % this.capacity) * FIELDS;
    const r = this.#records;
    r[at] = record.kind;
    r[at + 1] = record.family;
    if (typeof record.address === "number") {
      r[at + 2] = record.address;
    } else {
      let value = record.address;
      for (let word = 5; word >= 2; word--) {
        r[at + word] = Number(value & 0xffffffffn);
        value >>= 32n;
      }
    }
    r[at + 6] = record.port;
    r[at + 7] = record.protocol;
    r[at + 8] = record.attempt;
    r[at + 9] = record.ttl;
    r[at + 10] = record.at;
    r[at + 11] = (REASON_CODES.get(record.reason) ?? 0) + (record.fromTarget ? 256 : 0);
    r[at + 12] = record.mac ?? -1;
    Atomics.store(this.#control, 2, (written + 1) | 0);
    return true;
  }

  /** Whether records are waiting. */
  get pending(): boolean {
    return Atomics.load(this.#control, 2) !== Atomics.load(this.#control, 3);
  }

  /** Take every waiting record (scanner side). */
  drain(): ReplyRecord[] {
    const written = Atomics.load(this.#control, 2);
    let read = Atomics.load(this.#control, 3);
    const out: ReplyRecord[] = [];
    const r = this.#records;
    while (read !== written) {
      const at = ((read >>> 0) % this.capacity) * FIELDS;
      const family = r[at + 1] === 6 ? 6 : 4;
      let address: number | bigint;
      if (family === 4) {
        address = r[at + 2]!;
      } else {
        address = 0n;
        for (let word = 2; word <= 5; word++) address = (address << 32n) | BigInt(r[at + word]!);
      }
      const code = r[at + 11]!;
      out.push({
        kind: r[at]!,
        family,
        address,
        port: r[at + 6]!,
        protocol: r[at + 7]!,
        attempt: r[at + 8]!,
        ttl: r[at + 9]!,
        at: r[at + 10]!,
        reason: REASONS[code & 255] ?? "unknown-response",
        fromTarget: code >= 256,
        ...(r[at + 12]! >= 0 ? { mac: r[at + 12]! } : {}),
      });
      read = (read + 1) | 0;
    }
    Atomics.store(this.#control, 3, read);
    return out;
  }
}
