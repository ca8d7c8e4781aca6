/**
 * The seam between the one scan scheduler ({@link runScan} in scheduler.ts)
 * and the transports beneath it: connect attempts (epoll through FFI, or
 * `Deno.connect`) and raw packets (SYN, UDP, discovery). The scheduler owns
 * order, timing, loss, retries and proof of silence; a transport only sends
 * tries and hands back what answered them.
 *
 * @module
 */

import type { Host } from "../targets/types.ts";

/** One try of one unit (a host and a port, or a host for discovery). */
export interface Probe {
  /** The scheduler's slot of the unit: tag refused sends with it, and {@link Transport.release} names it. */
  slot: number;
  hostIndex: bigint;
  host: Host;
  /** Index into the plan's ports (0 for discovery). */
  unit: number;
  /** Which try, from 0. */
  attempt: number;
}

/** A unit's verdict: a port state (or "up"/"down" for discovery) and nmap's reason for it. */
export interface Verdict {
  state: string;
  reason: string;
  rtt?: number;
  ttl?: number;
  /** Discovery: the hardware address of an ARP / ND reply, as a number. */
  mac?: number;
}

/** Something that answered a try. */
export interface Answer {
  hostIndex: bigint;
  unit: number;
  /** Which try was answered, from 0. */
  attempt: number;
  /** When it arrived, on the clock of {@link Transport.now}. */
  at: number;
  /** TTL or hop limit of the answer, 0 when unknown. */
  ttl: number;
  /** What it says, or undefined when it settles nothing. */
  verdict: Verdict | undefined;
  /**
   * Evidence about the path's round trip and loss: the target's own TCP or
   * UDP answer, not an ICMP error (rate-limited by routers and hosts) nor ARP.
   */
  timed: boolean;
  /** An ICMP port unreachable sent by the target itself (paces UDP retries). */
  portUnreach: boolean;
  /**
   * Not a verdict while tries remain: send a fresh try (a loopback socket
   * that connected to itself says nothing of the port). The verdict stands
   * once tries run out.
   */
  again?: boolean;
}

/** A way to send tries and learn what answered them. */
export interface Transport {
  /** Send (or queue) one try; `probe` is reused by the caller afterwards. */
  send(probe: Probe): void;
  /** Send what is queued; returns the slots of tries refused locally (full queues, no descriptors). */
  flush(): number[];
  /** Answers since the last call. */
  receive(): Answer[];
  /** Resolve after `ms`, or sooner when answers arrive. */
  wait(ms: number): Promise<void>;
  /** Milliseconds on the clock of {@link Answer.at}. */
  now(): number;
  /**
   * Every answer that arrived before this time has been received; silence is
   * judged only up to it. Omitted: receipt is immediate.
   */
  caughtUp?(): number;
  /** Counters of the receive side, where it has one that can drop. */
  receiverStats?(): { packets: number; drops: number };
  /** The unit in `slot` is decided or abandoned: free what its tries hold (sockets). */
  release?(slot: number): void;
  /** Most units it can have in flight at once (descriptors); unbounded when omitted. */
  readonly capacity?: number;
}

/** How a scan type names its units and reports verdicts. */
export interface ScanMode {
  kind: "syn" | "udp" | "discovery" | "connect";
  /** Units per host: the number of ports, or 1 for discovery. */
  units: number;
  /** The verdict of a unit that was never answered. */
  silent: Verdict;
  /** Report a verdict. */
  emit(hostIndex: bigint, host: Host, unit: number, verdict: Verdict): void;
}
