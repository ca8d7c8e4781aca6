/**
 * The seam between the connect-scan scheduler and its transports (epoll
 * through FFI, or `Deno.connect`).
 *
 * @module
 */

import type { Host } from "../targets/types.ts";

/** One attempt at one (host, port). A retry is a new attempt. */
export interface Attempt {
  /** Send sequence number, unique per attempt. */
  seq: number;
  /** Position in the scan's probe order (what a resume point counts). */
  index: number;
  hostIndex: bigint;
  host: Host;
  port: number;
  /** 1 for the first attempt, 2 for the first retry, … */
  tries: number;
  /** Sequence number of the attempt this one retries (-1 for a first try). */
  previousSeq: number;
  sentAt: number;
  deadline: number;
  /** The attempt has completed, timed out or been aborted. */
  done: boolean;
  /** Transport handle (a descriptor for epoll, an id for Deno.connect). */
  slot: number;
}

/** What became of an attempt. */
export type ConnectOutcome =
  /** The handshake completed. */
  | { kind: "open" }
  /** A reset answered the SYN. */
  | { kind: "refused" }
  /** An ICMP error (or a local routing error) answered it; `reason` names it. */
  | { kind: "unreachable"; reason: string; ttl?: number }
  /** The socket connected to itself (loopback, source port = target port). */
  | { kind: "self" }
  /** A local resource ran out (descriptors, ephemeral ports): not a verdict, try again later. */
  | { kind: "local"; error: string };

/** An attempt and its outcome, stamped when the engine saw it. */
export interface Completion {
  attempt: Attempt;
  outcome: ConnectOutcome;
  at: number;
}

/** A way to run connect attempts. */
export interface ConnectTransport {
  readonly name: string;
  /** Most attempts it can hold at once. */
  readonly capacity: number;
  /** Start an attempt; an outcome known at once is returned, otherwise undefined. */
  start(attempt: Attempt): ConnectOutcome | undefined;
  /** Give up on an attempt (it timed out or the scan stops). */
  abort(attempt: Attempt): void;
  /** Completed attempts, waiting up to `ms` when none are ready yet. */
  poll(ms: number): Completion[] | Promise<Completion[]>;
  /** Release every resource. */
  close(): void;
}
