/**
 * Planning a scan from its options: which engines run (SYN where raw
 * sockets open, connect otherwise), which ports of which protocol, the
 * timing, and the phases (one engine run each). Nothing here sends a packet.
 *
 * Errors a user can cause are RangeErrors (the CLI turns them into usage
 * errors); a raw mode asked for and not available is an Error of one line.
 *
 * @module
 */

import type { ScanOptions } from "./options.ts";
import { createConnectEngine } from "../engine/mod.ts";
import { createRawEngine, rawAvailable } from "../engine/mod.ts";
import { timingTemplate } from "../engine/mod.ts";
import type { HostResult } from "../model/mod.ts";
import type { ScanEngine, Shard, Timing } from "../engine/types.ts";
import { excludePorts, parsePorts, topPorts } from "../ports/mod.ts";
import type { Host, TargetSet } from "../targets/types.ts";

/** The ports of each protocol to scan, from -p / --top-ports / -F and the scan types. */
export function selectPorts(
  options: ScanOptions,
  modes: Modes,
  warn: (text: string) => void,
): PortLists {
  const protocols: ("tcp" | "udp")[] = [];
  if (modes.tcp !== undefined) protocols.push("tcp");
  if (modes.udp) protocols.push("udp");
  if (protocols.length === 0) return { tcp: [], udp: [] };
  // Ports without a T:/U: prefix belong to every scan type asked for.
  const only = { protocols };
  const top = (count: number): { tcp: number[]; udp: number[] } => ({
    tcp: modes.tcp !== undefined ? topPorts(count, "tcp") : [],
    udp: modes.udp ? topPorts(count, "udp") : [],
  });
  let spec: { tcp: number[]; udp: number[] };
  if (options.ports !== undefined) spec = parsePorts(options.ports, only);
  else if (options.topPorts !== undefined) spec = top(options.topPorts);
  else if (options.fast) spec = top(100);
  else spec = top(1000);
  if (options.excludePorts !== undefined) {
    spec = excludePorts(spec, parsePorts(options.excludePorts, only));
  }
  if (modes.tcp !== undefined && spec.tcp.length === 0) {
    throw new RangeError("No TCP ports left to scan: give some (-p T:…) or drop the TCP scan type");
  }
  if (modes.udp && spec.udp.length === 0) {
    throw new RangeError("No UDP ports left to scan: give some (-p U:…) or drop -sU");
  }
  if (modes.tcp === undefined && spec.tcp.length > 0) {
    warn(
      "portolan: warning: TCP ports given without a TCP scan type (-sS, -sT); skipping them\n",
    );
    spec.tcp = [];
  }
  if (!modes.udp && spec.udp.length > 0) {
    warn("portolan: warning: UDP ports given without -sU; skipping them\n");
    spec.udp = [];
  }
  return spec;
}

/** Which engines the scan runs, once privileges are known. */
export interface Modes {
  /** TCP scan, if any. */
  tcp?: "connect" | "syn";
  udp: boolean;
  /** How hosts are found up: not at all (-Pn), by connect(), or by raw probes. */
  discovery: "none" | "connect" | "raw";
}

const RAW_NAMES: Record<string, string> = {
  syn: "a SYN scan (-sS)",
  udp: "a UDP scan (-sU)",
  echo: "ICMP echo discovery (-PE)",
  arp: "ARP discovery (-PR)",
};

/**
 * Settle the scan types: SYN when raw sockets open and no TCP type was
 * asked for, as nmap does for root; a raw mode asked for by name and not
 * available is an error of one line.
 */
export function resolveModes(options: ScanOptions): Modes {
  const asked = [
    ...(options.tcpScan === "syn" ? ["syn"] : []),
    ...(options.udpScan ? ["udp"] : []),
    ...options.discoveryProbes.flatMap((probe) =>
      probe.kind === "echo" || probe.kind === "arp" ? [probe.kind] : []
    ),
  ];
  const mayUseRaw = asked.length > 0 || options.tcpScan === undefined || !options.skipDiscovery;
  const raw = mayUseRaw ? rawAvailable() : { ok: false as const, why: "" };
  if (!raw.ok && asked.length > 0) {
    throw new Error(
      `Cannot run ${RAW_NAMES[asked[0]!]}: ${raw.why}. A connect scan (-sT) needs no privileges`,
    );
  }
  const tcp = options.tcpScan ??
    (options.udpScan || options.pingOnly ? undefined : raw.ok ? "syn" : "connect");
  return {
    ...(tcp !== undefined ? { tcp } : {}),
    udp: options.udpScan,
    discovery: options.skipDiscovery ? "none" : raw.ok ? "raw" : "connect",
  };
}

/**
 * Probes per host of the default discovery: ICMP echo, SYN to 443 and ACK
 * to 80 with raw sockets; a connect to 80 and to 443 without.
 */
const DISCOVERY_PROBES = { raw: 3, connect: 2 } as const;

/**
 * Whether host discovery is folded into the port scan: when the port scan
 * sends no more probes per host than discovery would, its own answers tell
 * which hosts are up (any answer, open or closed, means up; nothing means
 * down or filtered), as masscan and ZMap work, and the dark hosts' silence
 * is waited out once instead of twice. Explicit -P flags, -Pn and -sn keep
 * their meaning.
 */
export function foldDiscovery(options: ScanOptions, modes: Modes, ports: PortLists): boolean {
  if (modes.discovery === "none" || options.pingOnly || options.discoveryProbes.length > 0) {
    return false;
  }
  const perHost = (modes.tcp !== undefined ? ports.tcp.length : 0) +
    (modes.udp ? ports.udp.length : 0);
  return perHost > 0 && perHost <= DISCOVERY_PROBES[modes.discovery];
}

/** The timing template with the explicit flags over it. */
export function buildTiming(options: ScanOptions): Timing {
  const timing = timingTemplate(options.timingLevel);
  if (options.minRttTimeout !== undefined) timing.minRttTimeout = options.minRttTimeout;
  if (options.maxRttTimeout !== undefined) timing.maxRttTimeout = options.maxRttTimeout;
  if (options.initialRttTimeout !== undefined) timing.initialRttTimeout = options.initialRttTimeout;
  if (options.maxRetries !== undefined) timing.maxRetries = options.maxRetries;
  if (options.hostTimeout !== undefined) timing.hostTimeout = options.hostTimeout;
  if (options.scanDelay !== undefined) timing.scanDelay = options.scanDelay;
  if (options.maxParallelism !== undefined) timing.maxParallelism = options.maxParallelism;
  if (options.minRate !== undefined) timing.minRate = options.minRate;
  if (options.maxRate !== undefined) timing.maxRate = options.maxRate;
  if (timing.minRttTimeout > timing.maxRttTimeout) {
    throw new RangeError(
      `Cannot use --min-rtt-timeout ${timing.minRttTimeout}ms: it is above --max-rtt-timeout ${timing.maxRttTimeout}ms`,
    );
  }
  if (timing.minRate > 0 && timing.maxRate > 0 && timing.minRate > timing.maxRate) {
    throw new RangeError(
      `Cannot use --min-rate ${timing.minRate}: it is above --max-rate ${timing.maxRate}`,
    );
  }
  // A rate floor is a promise to send that fast: do not let the window hold it back.
  if (timing.minRate > 0 && options.maxParallelism === undefined) {
    timing.maxParallelism = Math.max(timing.maxParallelism, 1024);
  }
  return timing;
}

/** A target set over an explicit list of hosts (the ones found up). */
export function hostList(hosts: readonly Host[]): TargetSet {
  return {
    size: BigInt(hosts.length),
    at(index: bigint): Host {
      const host = hosts[Number(index)];
      if (host === undefined) throw new RangeError(`Host index ${index} is out of range`);
      return host;
    },
    hosts(): Iterable<Host> {
      return hosts;
    },
  };
}

/** One engine run over the hosts found up: a TCP or a UDP port scan. */
export interface Phase {
  type: "connect" | "syn" | "udp";
  protocol: "tcp" | "udp";
  ports: number[];
  engine: ScanEngine;
}

/** The engine runs of a port scan, TCP first. */
export function phasesOf(options: ScanOptions, modes: Modes, ports: PortLists): Phase[] {
  const phases: Phase[] = [];
  if (modes.tcp === "syn") {
    phases.push({
      type: "syn",
      protocol: "tcp",
      ports: ports.tcp,
      engine: createRawEngine({ scan: "syn" }),
    });
  } else if (modes.tcp === "connect") {
    phases.push({
      type: "connect",
      protocol: "tcp",
      ports: ports.tcp,
      engine: createConnectEngine({ transport: options.connectEngine }),
    });
  }
  if (modes.udp) {
    phases.push({
      type: "udp",
      protocol: "udp",
      ports: ports.udp,
      engine: createRawEngine({ scan: "udp" }),
    });
  }
  return phases;
}

/** Ports to scan, per protocol. */
export interface PortLists {
  tcp: number[];
  udp: number[];
}

/** A host found up, with its index in the target set. */
export interface UpHost {
  index: bigint;
  host: Host;
  reason: string;
  /** The answer's TTL, time and MAC, where raw discovery saw them. */
  found?: Pick<HostResult, "reasonTtl" | "rtt" | "mac">;
}

/** How many of `total` hosts shard `shard` holds. */
export function shardHosts(total: bigint, shard: Shard): bigint {
  const index = BigInt(shard.index);
  return total <= index ? 0n : (total - index - 1n) / BigInt(shard.count) + 1n;
}
