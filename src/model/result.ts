/**
 * Verdicts: what a scan says of one port and of one host.
 *
 * @module
 */

import type { ServiceMatch } from "./service.ts";
import { type HostState, type PortState, type Protocol, SILENT_REASONS } from "./states.ts";

/** One port's verdict. */
export interface PortResult {
  /** Textual address of the host ("198.51.100.2", "2001:db8::2"). */
  address: string;
  protocol: Protocol;
  port: number;
  state: PortState;
  /** Why, in nmap's reason vocabulary: syn-ack, conn-refused, no-response, host-unreach, admin-prohibited, … */
  reason: string;
  /** Round-trip time of the answer that decided the state, in milliseconds. */
  rtt?: number;
  /** TTL of the answer, where the engine sees it. */
  reasonTtl?: number;
  service?: ServiceMatch;
  /** Script output (-sC, --script), in nmap's form; see src/plugin/script_types.ts. */
  scripts?: { id: string; output: string }[];
}

/** A host's verdict (host discovery, or the summary after its ports). */
export interface HostResult {
  address: string;
  hostnames: string[];
  state: HostState;
  reason: string;
  /** TTL of the answer that found the host up, where the engine saw it. */
  reasonTtl?: number;
  /** Round-trip time of that answer, ms (host discovery). */
  rtt?: number;
  /** Hardware address of an on-link host, from its ARP / ND reply ("32:28:85:3D:F7:A7"). */
  mac?: string;
}

/**
 * Whether a verdict says only that nothing came back: the ports a bounded
 * builder counts instead of keeping. One that service detection learned
 * something about (a UDP port that answered a probe) is kept.
 */
export function isSilent(
  result: { state: PortState; reason: string; service?: ServiceMatch | undefined },
): boolean {
  return (result.state === "filtered" || result.state === "open|filtered") &&
    SILENT_REASONS.has(result.reason) &&
    (result.service === undefined || Object.keys(result.service).length === 0);
}

/**
 * Report order of ports: TCP before UDP, then by number. A plain comparison,
 * not `localeCompare`, which would load the ICU collator (~3 MB) for two words.
 */
export function comparePorts(
  a: { protocol: Protocol; port: number },
  b: { protocol: Protocol; port: number },
): number {
  if (a.protocol !== b.protocol) return a.protocol === "tcp" ? -1 : 1;
  return a.port - b.port;
}
