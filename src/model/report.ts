/**
 * The scan report: what the JSON output prints and what every grouped
 * output format (normal, XML, grepable, HTML) renders.
 *
 * @module
 */

import type { HostResult, PortResult } from "./result.ts";
import type { PortState, Protocol } from "./states.ts";

/** Ports of one state that are counted rather than listed. */
export interface ExtraPorts {
  state: PortState;
  count: number;
  /**
   * How many of them had each reason; with the ports themselves ("2-20,24")
   * and their protocol where the report kept them.
   */
  reasons: { reason: string; count: number; protocol?: Protocol; ports?: string }[];
}

/** One host of the report: its verdict, and its ports. */
export interface HostReport extends HostResult {
  /** Every port whose state is not summarised in `extraports`, ascending. */
  ports: PortResult[];
  extraports: ExtraPorts[];
}

/** What was scanned and how. */
export interface ScanInfo {
  /** Scan type: "connect" (-sT), later "syn", "udp", … */
  type: string;
  protocol: Protocol;
  /** Number of ports probed per host. */
  numServices: number;
  /** The ports, in nmap's compact form "1-1024,8080". */
  services: string;
}

/** Counters of a finished scan. */
export interface ScanStats {
  probes: number;
  retries: number;
  seconds: number;
  hostsUp: number;
  hostsDown: number;
  hostsTotal: number;
  /** Packets the raw receiver lost for want of buffer (raw scans only). */
  receiverDrops?: number;
  /** The most probes sent in any one-second window (measured, probes/s). */
  sendRate?: number;
}

/** The whole report, the `-oJ` schema. */
export interface ScanReport {
  scanner: "portolan";
  version: string;
  args: string[];
  /** ISO-8601. */
  start: string;
  /** ISO-8601, empty until the scan ends. */
  end: string;
  scaninfo: ScanInfo[];
  hosts: HostReport[];
  stats: ScanStats;
}
