/**
 * What a report builder keeps per host: the general {@link HostEntry}, and
 * {@link CompactHosts}, the dense table a bounded (wide) scan keeps its
 * answering hosts in while they fit it.
 *
 * A compact host is a row of typed arrays: its sort key, closed-port count
 * and reason, first answer, answered counts and one bit per scanned port;
 * its findings (listed ports other than closed ones) are typed columns too
 * when they carry nothing but a state, a reason, a round trip and a TTL,
 * objects otherwise (a service, script output). A
 * host that needs more (names, a host verdict, a second closed reason, a
 * closed port with a service, a counted summary) is turned into a
 * {@link HostEntry} once and kept as such.
 *
 * @module
 */

import { IndexTable } from "../engine/index_table.ts";
import { plainIpv4 } from "../targets/parse.ts";
import {
  type HostResult,
  type HostState,
  PORT_STATES,
  type PortResult,
  type PortState,
  SILENT_REASONS,
} from "../model/mod.ts";

/** A host's ports of one state: counted, and listed while the report lists them. */
export interface StateBucket {
  count: number;
  reasons: Reasons;
  /** The ports themselves, or null once the state is only counted. */
  listed: PortResult[] | null;
  /**
   * Once only counted: the ports of each reason as ranges (nmap's
   * `<extrareasons ports=…>`), null for a reason whose ports are not known.
   */
  ranges: Map<string, PortRanges | null>;
}

/**
 * Ports of one protocol: sorted, disjoint, non-adjacent [first, last] pairs,
 * flat; or, once they were too many, one bit per port.
 */
export interface PortRanges {
  protocol: PortResult["protocol"];
  bounds: number[];
  bits?: Uint8Array;
}

/** A host as the builder keeps it in general: any mix of verdicts, names and summaries. */
export interface HostEntry {
  address: string;
  sortKey: bigint | undefined;
  hostnames: string[];
  /** Verdict from `addHost`, if any other than "unknown". */
  verdict: { state: HostState; reason: string } | undefined;
  /** What discovery learned of the host beyond its verdict. */
  found: Pick<HostResult, "reasonTtl" | "rtt" | "mac">;
  /** Reason of the first port that answered, if any did. */
  answer: string | undefined;
  states: Map<PortState, StateBucket>;
  /** Verdicts other than silent ones, per protocol (bounded mode). */
  answered: { tcp: number; udp: number };
  /**
   * Which scanned ports answered, one bit per port index (bounded mode), so
   * the silent ones are known exactly; absent until one answers.
   */
  heard: { tcp?: Bits | undefined; udp?: Bits | undefined };
  /** Counts were added without their ports (a resumed report): the bits are incomplete. */
  inexact: boolean;
}

/** One bit per scanned port: a number while there are at most 31 ports, else bytes. */
export type Bits = number | Uint8Array;

/**
 * Counts per reason. Almost every bucket has one reason, so it is two
 * fields; a map only from the second reason on (a map costs a host more
 * than everything else it keeps).
 */
export class Reasons {
  #first = "";
  #count = 0;
  #rest: Map<string, number> | undefined;

  add(reason: string, count: number): void {
    if (this.#count === 0 || reason === this.#first) {
      this.#first = reason;
      this.#count += count;
      return;
    }
    this.#rest ??= new Map();
    this.#rest.set(reason, (this.#rest.get(reason) ?? 0) + count);
  }

  /** Every reason with its count. */
  entries(): [string, number][] {
    const all: [string, number][] = this.#count === 0 ? [] : [[this.#first, this.#count]];
    return this.#rest === undefined ? all : [...all, ...this.#rest];
  }

  /** The reason, when there is exactly one. */
  only(): string | undefined {
    return this.#count > 0 && this.#rest === undefined ? this.#first : undefined;
  }
}

/** Scanned ports per protocol, as the table indexes them. */
export interface ScannedIndex {
  /** How many ports of each protocol are scanned. */
  count: { tcp: number; udp: number };
  /** Port number -> index in the scanned list, -1 where not scanned. */
  indexOf: { tcp: Int32Array | undefined; udp: Int32Array | undefined };
}

const FIRST_CAPACITY = 16;

/** No finding: the end of a row's chain. */
const NONE = -1;

type Column = Float64Array | Uint32Array | Int32Array | Uint16Array | Int16Array | Uint8Array;

/** `next` (a longer column of the same kind) holding `old`'s values first. */
function widened<T extends Column>(old: T, next: T): T {
  next.set(old as never);
  return next;
}

/** Sort keys a row holds: those a double holds exactly (IPv4; IPv6 hosts stay entries). */
const MAX_KEY = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The answering hosts of a bounded report as dense rows: ≈ 100 B a host
 * that answered with closed ports and one open one, against ≈ 1 KB as a
 * {@link HostEntry}. Closed ports are a count and one reason (which ports
 * they were is in the bits); every other verdict it takes is kept whole.
 */
export class CompactHosts {
  /**
   * Rows by the host's IPv4 address as a number: a sweep looks a host up per
   * verdict, and a string key cost a hash of a fresh address text each time.
   */
  #ids = new IndexTable(FIRST_CAPACITY);
  /** Addresses by row; undefined once the row was taken out. */
  #addresses: (string | undefined)[] = [];
  /**
   * Findings as columns, chained per row (newest first): a sweep's open port
   * as an object with its boxed round trip was ≈ 96 B, here 24. One that
   * carries more (a service, script output) is kept as the object it is.
   */
  #findings = 0;
  /** Index in {@link #objects}, or {@link NONE}: the finding is in the columns. */
  #findingObject = new Int32Array(0);
  #objects: (PortResult | undefined)[] = [];
  #findingPort = new Uint16Array(0);
  /** Protocol (bit 7: UDP) and the state's index in PORT_STATES. */
  #findingKind = new Uint8Array(0);
  #findingReason = new Uint16Array(0);
  /** NaN: none. */
  #findingRtt = new Float64Array(0);
  /** -1: none. */
  #findingTtl = new Int16Array(0);
  #findingNext = new Int32Array(0);
  /** Each row's newest plain finding, or {@link NONE}. */
  #firstFinding = new Int32Array(0);
  #capacity = 0;
  #keys = new Float64Array(0);
  #closed = new Uint32Array(0);
  /** Reason ids of the closed ports and of the first answer (+1, 0: none). */
  #closedReason = new Uint16Array(0);
  #answer = new Uint16Array(0);
  /** Answered verdicts, tcp then udp. */
  #answered = new Uint32Array(0);
  #heard = new Uint8Array(0);
  #reasons: string[] = [];
  #reasonIds = new Map<string, number>();
  #lastReason = "";
  #lastReasonId = -1;
  readonly #scanned: ScannedIndex;
  readonly #strideTcp: number;
  readonly #row: number;

  constructor(scanned: ScannedIndex) {
    this.#scanned = scanned;
    this.#strideTcp = (scanned.count.tcp + 7) >> 3;
    this.#row = this.#strideTcp + ((scanned.count.udp + 7) >> 3);
  }

  /** Hosts in the table. */
  get size(): number {
    return this.#ids.size;
  }

  /** The row of the IPv4 address numbered `ip` (its 32-bit value), or -1. */
  id(ip: number): number {
    return this.#ids.get(ip);
  }

  /**
   * A new row for `address` (numbered `ip`) ordered by `key`; undefined when
   * the key does not fit a double exactly (it stays a {@link HostEntry}).
   */
  create(address: string, ip: number, key: bigint): number | undefined {
    if (key > MAX_KEY) return undefined;
    const id = this.#addresses.length;
    if (id === this.#capacity) this.#grow();
    this.#addresses.push(address);
    this.#firstFinding[id] = NONE;
    this.#keys[id] = Number(key);
    this.#ids.set(ip, id);
    return id;
  }

  /** A new sort key for row `id`; false when it does not fit. */
  rekey(id: number, key: bigint): boolean {
    if (key > MAX_KEY) return false;
    this.#keys[id] = Number(key);
    return true;
  }

  /**
   * Record a verdict that answered (not a silent one) of row `id`; false,
   * with nothing changed, when the row cannot hold it: a closed port with a
   * service or of a second reason, or a state that is only counted.
   */
  add(id: number, result: PortResult, listable: boolean): boolean {
    const closed = result.state === "closed";
    let reason = this.#lastReasonId;
    if (result.reason !== this.#lastReason || reason < 0) reason = this.#reasonId(result.reason);
    if (closed) {
      if (result.service !== undefined) return false;
      const count = this.#closed[id]!;
      if (count > 0 && this.#closedReason[id] !== reason) return false;
      this.#closedReason[id] = reason;
      this.#closed[id] = count + 1;
    } else {
      if (!listable) return false;
      this.#addFinding(id, result, reason);
    }
    if (
      this.#answer[id] === 0 &&
      (result.state === "open" || closed || !SILENT_REASONS.has(result.reason))
    ) {
      this.#answer[id] = reason + 1;
    }
    const udp = result.protocol === "udp" ? 1 : 0;
    this.#answered[id * 2 + udp]!++;
    const index = this.#scanned.indexOf[result.protocol]?.[result.port] ?? -1;
    if (index >= 0) {
      const at = id * this.#row + (udp === 1 ? this.#strideTcp : 0) + (index >> 3);
      this.#heard[at]! |= 1 << (index & 7);
    }
    return true;
  }

  /** Every row: its id, address and sort key. */
  *rows(): Generator<{ id: number; address: string; key: number }> {
    const addresses = this.#addresses;
    for (let id = 0; id < addresses.length; id++) {
      const address = addresses[id];
      if (address !== undefined) yield { id, address, key: this.#keys[id]! };
    }
  }

  /** Counts of row `id` for a build's budget: closed ports, answered per protocol. */
  counts(id: number): { closed: number; tcp: number; udp: number } {
    return {
      closed: this.#closed[id]!,
      tcp: this.#answered[id * 2]!,
      udp: this.#answered[id * 2 + 1]!,
    };
  }

  /** Row `id` as a {@link HostEntry}, as it would have been built verdict by verdict. */
  entry(id: number): HostEntry {
    const address = this.#addresses[id]!;
    const states = new Map<PortState, StateBucket>();
    for (const result of this.findings(id)) {
      let bucket = states.get(result.state);
      if (bucket === undefined) {
        bucket = { count: 0, reasons: new Reasons(), listed: [], ranges: new Map() };
        states.set(result.state, bucket);
      }
      bucket.count++;
      bucket.reasons.add(result.reason, 1);
      bucket.listed!.push(result);
    }
    const closed = this.#closed[id]!;
    if (closed > 0) {
      const reasons = new Reasons();
      reasons.add(this.#reasons[this.#closedReason[id]!]!, closed);
      states.set("closed", { count: closed, reasons, listed: null, ranges: new Map() });
    }
    const answer = this.#answer[id]!;
    return {
      address,
      sortKey: BigInt(this.#keys[id]!),
      hostnames: [],
      verdict: undefined,
      found: {},
      answer: answer === 0 ? undefined : this.#reasons[answer - 1],
      states,
      answered: { tcp: this.#answered[id * 2]!, udp: this.#answered[id * 2 + 1]! },
      heard: { tcp: this.#bits(id, "tcp"), udp: this.#bits(id, "udp") },
      inexact: false,
    };
  }

  /** Row `id` as a {@link HostEntry}, out of the table. */
  take(id: number): HostEntry {
    const host = this.entry(id);
    this.#ids.delete(plainIpv4(host.address));
    this.#addresses[id] = undefined;
    // The entry holds them now; the columns' slots stay, unused.
    for (let at = this.#firstFinding[id]!; at !== NONE; at = this.#findingNext[at]!) {
      const object = this.#findingObject[at]!;
      if (object !== NONE) this.#objects[object] = undefined;
    }
    this.#firstFinding[id] = NONE;
    return host;
  }

  /** Row `id`'s findings (listed ports other than closed ones), in the order they came. */
  findings(id: number): PortResult[] {
    const address = this.#addresses[id]!;
    const found: PortResult[] = [];
    for (let at = this.#firstFinding[id]!; at !== NONE; at = this.#findingNext[at]!) {
      const object = this.#findingObject[at]!;
      if (object !== NONE) {
        found.push(this.#objects[object]!);
        continue;
      }
      const kind = this.#findingKind[at]!;
      const result: PortResult = {
        address,
        protocol: (kind & 0x80) !== 0 ? "udp" : "tcp",
        port: this.#findingPort[at]!,
        state: PORT_STATES[kind & 0x7f]!,
        reason: this.#reasons[this.#findingReason[at]!]!,
      };
      const rtt = this.#findingRtt[at]!;
      if (!Number.isNaN(rtt)) result.rtt = rtt;
      const ttl = this.#findingTtl[at]!;
      if (ttl >= 0) result.reasonTtl = ttl;
      found.push(result);
    }
    // Chained newest first.
    return found.reverse();
  }

  /** Chain `result` to row `id`: as columns, or as the object where it carries more. */
  #addFinding(id: number, result: PortResult, reason: number): void {
    const at = this.#findings;
    if (at === this.#findingPort.length) this.#growFindings();
    this.#findingNext[at] = this.#firstFinding[id]!;
    this.#firstFinding[id] = at;
    this.#findings = at + 1;
    const ttl = result.reasonTtl;
    const state = PORT_STATES.indexOf(result.state);
    const plain = result.service === undefined && result.scripts === undefined &&
      result.address === this.#addresses[id] && state >= 0 &&
      Number.isInteger(result.port) && result.port >= 0 && result.port <= 0xffff &&
      (ttl === undefined || (Number.isInteger(ttl) && ttl >= 0 && ttl <= 0x7fff));
    if (!plain) {
      this.#findingObject[at] = this.#objects.length;
      this.#objects.push(result);
      return;
    }
    this.#findingObject[at] = NONE;
    this.#findingPort[at] = result.port;
    this.#findingKind[at] = state | (result.protocol === "udp" ? 0x80 : 0);
    this.#findingReason[at] = reason;
    this.#findingRtt[at] = result.rtt ?? NaN;
    this.#findingTtl[at] = ttl ?? -1;
  }

  #growFindings(): void {
    const capacity = Math.max(FIRST_CAPACITY, this.#findingPort.length * 2);
    this.#findingPort = widened(this.#findingPort, new Uint16Array(capacity));
    this.#findingKind = widened(this.#findingKind, new Uint8Array(capacity));
    this.#findingReason = widened(this.#findingReason, new Uint16Array(capacity));
    this.#findingRtt = widened(this.#findingRtt, new Float64Array(capacity));
    this.#findingTtl = widened(this.#findingTtl, new Int16Array(capacity));
    this.#findingNext = widened(this.#findingNext, new Int32Array(capacity));
    this.#findingObject = widened(this.#findingObject, new Int32Array(capacity));
  }

  #bits(id: number, protocol: "tcp" | "udp"): Bits | undefined {
    const count = this.#scanned.count[protocol];
    const start = id * this.#row + (protocol === "udp" ? this.#strideTcp : 0);
    const end = start + ((count + 7) >> 3);
    let any = 0;
    for (let at = start; at < end; at++) any |= this.#heard[at]!;
    if (any === 0) return undefined;
    if (count > 31) return this.#heard.slice(start, end);
    let bits = 0;
    for (let at = start; at < end; at++) bits |= this.#heard[at]! << ((at - start) * 8);
    return bits;
  }

  #reasonId(reason: string): number {
    let id = this.#reasonIds.get(reason);
    if (id === undefined) {
      id = this.#reasons.length;
      if (id >= 0xfffe) throw new RangeError(`Cannot keep reason "${reason}": too many reasons`);
      this.#reasons.push(reason);
      this.#reasonIds.set(reason, id);
    }
    this.#lastReason = reason;
    this.#lastReasonId = id;
    return id;
  }

  #grow(): void {
    const capacity = Math.max(FIRST_CAPACITY, this.#capacity * 2);
    this.#keys = widened(this.#keys, new Float64Array(capacity));
    this.#closed = widened(this.#closed, new Uint32Array(capacity));
    this.#closedReason = widened(this.#closedReason, new Uint16Array(capacity));
    this.#answer = widened(this.#answer, new Uint16Array(capacity));
    this.#answered = widened(this.#answered, new Uint32Array(capacity * 2));
    this.#heard = widened(this.#heard, new Uint8Array(capacity * this.#row));
    this.#firstFinding = widened(this.#firstFinding, new Int32Array(capacity));
    this.#capacity = capacity;
  }
}
