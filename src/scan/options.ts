/**
 * What a scan takes from the command line: the fields of the CLI's options
 * (`CliOptions` in src/cli/args.ts) that the scan reads. Declared here so
 * the arrow runs down, from the command to the scan; the command hands its
 * whole options, which the compiler checks against this.
 *
 * @module
 */

import type { DiscoveryProbe } from "../engine/raw/types.ts";
import type { Shard, TimingLevel } from "../engine/types.ts";

/** The options a scan reads (see `CliOptions` for each flag). */
export interface ScanOptions {
  /** -p: the ports, as given. */
  ports?: string;
  /** --top-ports. */
  topPorts?: number;
  /** -F: the 100 most common ports. */
  fast: boolean;
  /** --exclude-ports, as given. */
  excludePorts?: string;
  /** The TCP scan asked for (-sT, -sS); undefined: SYN when raw sockets open, else connect. */
  tcpScan?: "connect" | "syn";
  /** -sU. */
  udpScan: boolean;
  /** -sn: host discovery only. */
  pingOnly: boolean;
  /** -sV: detect services on open ports. */
  serviceDetection: boolean;
  /** --version-intensity (0-9), --version-light (2), --version-all (9). */
  versionIntensity?: number;
  /** --script-timeout: time one script may take on one port, ms. */
  scriptTimeout?: number;
  /** -PE, -PS, -PA, -PR: host-discovery probes; empty for the default set. */
  discoveryProbes: DiscoveryProbe[];
  /** --shard I/N, 1-based on the command line as masscan has it; 0-based here. */
  shard?: Shard;
  /** -Pn. */
  skipDiscovery: boolean;
  /** -n. */
  noResolve: boolean;
  /** -r: ports in order. */
  sequential: boolean;
  /** -T. */
  timingLevel: TimingLevel;
  minRate?: number;
  maxRate?: number;
  maxRetries?: number;
  hostTimeout?: number;
  minRttTimeout?: number;
  maxRttTimeout?: number;
  initialRttTimeout?: number;
  scanDelay?: number;
  maxParallelism?: number;
  /** --open: list only open ports. */
  open: boolean;
  /** -v level. */
  verbose: number;
  /** --seed of the probe order. */
  seed?: bigint;
  connectEngine: "auto" | "epoll" | "deno";
  /** -R: reverse-resolve every target, not only the hosts found up. */
  resolveAll: boolean;
  /** --dns-servers: ask these servers for reverse names instead of the system's. */
  dnsServers: { ipAddr: string; port?: number }[];
}
