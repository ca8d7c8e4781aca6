/**
 * What became of a connect attempt, and the verdict it gives: shared by the
 * epoll and `Deno.connect` transports.
 *
 * @module
 */

import type { Answer, Transport, Verdict } from "../transport.ts";

/** What became of one connect attempt. */
export type ConnectOutcome =
  /** The handshake completed (a reset right after it still means open). */
  | { kind: "open" }
  /** A reset answered the SYN. */
  | { kind: "refused" }
  /** An ICMP error (or a local routing error) answered it; `reason` names it. */
  | { kind: "unreachable"; reason: string }
  /** The socket connected to itself (loopback, source port = target port). */
  | { kind: "self" };

/** A connect transport: the scheduler's seam, with a name and resources to close. */
export interface ConnectTransport extends Transport {
  readonly name: string;
  /** Release every socket. */
  close(): void;
}

// Shared, read-only: one verdict object per answer would be garbage at 50,000 a second.
const OPEN: Verdict = Object.freeze({ state: "open", reason: "syn-ack" });
const REFUSED: Verdict = Object.freeze({ state: "closed", reason: "conn-refused" });
const SELF: Verdict = Object.freeze({ state: "closed", reason: "self-connect" });

/** The scheduler's answer for what became of the try `of` (a unit of a host, its try number). */
export function connectAnswer(
  of: { hostIndex: bigint; unit: number; attempt: number },
  outcome: ConnectOutcome,
  at: number,
): Answer {
  const answer: Answer = {
    hostIndex: of.hostIndex,
    unit: of.unit,
    attempt: of.attempt,
    at,
    ttl: 0,
    verdict: connectVerdict(outcome),
    // The target's own handshake or reset times the path; an ICMP error does not.
    timed: outcome.kind === "open" || outcome.kind === "refused",
    portUnreach: false,
  };
  if (outcome.kind === "self") answer.again = true;
  return answer;
}

/** The verdict an outcome gives, in nmap's words (shared objects: never mutate them). */
export function connectVerdict(outcome: ConnectOutcome): Verdict {
  switch (outcome.kind) {
    case "open":
      return OPEN;
    case "refused":
      return REFUSED;
    case "unreachable":
      return { state: "filtered", reason: outcome.reason };
    case "self":
      return SELF;
  }
}
