/**
 * The raw-socket engine: SYN scan (-sS) and UDP scan (-sU) as a
 * {@link ScanEngine}, and host discovery (ICMP echo, TCP SYN and ACK, ARP
 * and neighbour discovery on a local link). Needs FFI and root or
 * CAP_NET_RAW; {@link rawAvailable} says whether this process has them.
 *
 * @module
 */

import { createCookieKey, IpProtocol, ipv6FromBigInt } from "../packet/mod.ts";
import type { Host } from "../targets/types.ts";
import { openRawIo } from "./raw_io.ts";
import { openRawLibc } from "./raw_libc.ts";
import { type LocalLink, localLinkFor, sourceAddressFor } from "./raw_net.ts";
import { attemptsFor, type RawScanMode, type RawVerdict, runRawScan } from "./raw_scan.ts";
import {
  type DiscoveryProbe,
  type RawEngineStats,
  type RawScanPlan,
  type RawScanType,
  ReplyKind,
  type ReplyRecord,
} from "./raw_types.ts";
import type {
  EngineRunOptions,
  EngineSink,
  HostResult,
  PortState,
  ScanEngine,
  ScanPlan,
} from "./types.ts";

export { rawAvailable } from "./raw_net.ts";
export type { RawAvailability } from "./raw_net.ts";

/** Options of {@link createRawEngine}. */
export interface RawEngineOptions {
  /** SYN (-sS) or UDP (-sU). */
  scan: RawScanType;
  /** Starting rate, probes/s (default 2000; it doubles while answers come back clean). */
  initialRate?: number;
  /** Gap between paced UDP retries to a host that rate-limits ICMP, ms (default 1010). */
  icmpPaceMs?: number;
}

/** The ICMP reasons nmap calls filtered for a SYN scan (unreachable codes 0/1/2/3/9/10/13 and kin). */
function synVerdict(record: ReplyRecord): RawVerdict | undefined {
  switch (record.kind) {
    case ReplyKind.SynAck:
      return { state: "open", reason: "syn-ack" };
    case ReplyKind.Reset:
      return { state: "closed", reason: "reset" };
    case ReplyKind.IcmpError:
      return record.protocol === IpProtocol.Tcp
        ? { state: "filtered", reason: record.reason }
        : undefined;
  }
  return undefined;
}

function udpVerdict(record: ReplyRecord): RawVerdict | undefined {
  switch (record.kind) {
    case ReplyKind.Udp:
      return { state: "open", reason: "udp-response" };
    case ReplyKind.IcmpError:
      if (record.protocol !== IpProtocol.Udp) return undefined;
      if (record.reason === "port-unreach" && record.fromTarget) {
        return { state: "closed", reason: "port-unreach" };
      }
      return { state: "filtered", reason: record.reason };
  }
  return undefined;
}

interface Sources {
  sources: { 4?: number; 6?: Uint8Array };
  links: { 4?: LocalLink; 6?: LocalLink };
}

/** Hosts of the plan tried for a route per family: enough to pass over a few unroutable ones. */
const ROUTE_TRIES = 8;

/**
 * Source address (and local link) per family, from the first routable host
 * of each family. A family without any routable host among the first and
 * last few has no source: its probes are counted as lost, and its hosts
 * come out silent (filtered, or down), as nmap reports unroutable targets.
 */
function findSources(plan: ScanPlan): Sources {
  const libc = openRawLibc();
  if (libc === undefined) {
    throw new Error("Cannot run a raw scan: FFI is not allowed (--allow-ffi)");
  }
  const result: Sources = { sources: {}, links: {} };
  try {
    const size = plan.targets.size;
    const candidates = new Set<bigint>();
    for (let i = 0n; i < BigInt(ROUTE_TRIES) && i < size; i++) {
      candidates.add(i);
      candidates.add(size - 1n - i);
    }
    for (const index of candidates) {
      const host = plan.targets.at(index);
      if (result.sources[host.family] !== undefined) continue;
      const dst = host.family === 4 ? Number(host.value) >>> 0 : ipv6FromBigInt(host.value);
      let source;
      try {
        source = sourceAddressFor(libc, dst);
      } catch {
        continue; // no route to this one: try the next
      }
      if (host.family === 4) result.sources[4] = source as number;
      else result.sources[6] = source as Uint8Array;
      const link = localLinkFor(dst);
      if (link) result.links[host.family] = link;
    }
  } finally {
    libc.close();
  }
  return result;
}

/**
 * A raw-socket engine for SYN or UDP scans. `run` takes a {@link ScanPlan}
 * or a {@link RawScanPlan} (with `shard`) and resolves to
 * {@link RawEngineStats} (a superset of EngineStats with `receiverDrops`).
 */
export function createRawEngine(options: RawEngineOptions): ScanEngine {
  const scan = options.scan;
  return {
    name: `raw/${scan}`,
    async run(
      plan: RawScanPlan,
      sink: EngineSink,
      runOptions: EngineRunOptions,
    ): Promise<RawEngineStats> {
      const { sources } = findSources(plan);
      const attempts = attemptsFor(plan.timing.maxRetries);
      const portIndex = new Int32Array(65536).fill(-1);
      plan.ports.forEach((port, index) => portIndex[port] = index);
      const protocol = scan === "syn" ? "tcp" : "udp";
      const mode: RawScanMode = {
        kind: scan,
        units: plan.ports.length,
        unitOf(record: ReplyRecord): number | undefined {
          const index = portIndex[record.port] ?? -1;
          return index < 0 ? undefined : index;
        },
        verdictOf: scan === "syn" ? synVerdict : udpVerdict,
        silent: scan === "syn"
          ? { state: "filtered", reason: "no-response" }
          : { state: "open|filtered", reason: "no-response" },
        emit(hostIndex: bigint, host: Host, unit: number, verdict: RawVerdict): void {
          sink.result(hostIndex, host, {
            address: host.address,
            protocol,
            port: plan.ports[unit]!,
            state: verdict.state as PortState,
            reason: verdict.reason,
            ...(verdict.rtt !== undefined ? { rtt: verdict.rtt } : {}),
            ...(verdict.ttl !== undefined ? { reasonTtl: verdict.ttl } : {}),
          });
        },
      };
      const io = await openRawIo({
        mode: scan,
        ports: plan.ports,
        sources,
        key: createCookieKey(),
        attempts,
      });
      try {
        return await runRawScan(plan, sink, io, mode, {
          ...(runOptions.signal ? { signal: runOptions.signal } : {}),
          ...(runOptions.drainMs !== undefined ? { drainMs: runOptions.drainMs } : {}),
          ...(options.initialRate !== undefined ? { initialRate: options.initialRate } : {}),
          ...(options.icmpPaceMs !== undefined ? { icmpPaceMs: options.icmpPaceMs } : {}),
        });
      } finally {
        await io.close();
      }
    },
  };
}

/** Where host discovery reports. */
export interface DiscoverySink {
  /** A host's verdict; called once per host probed. */
  host(hostIndex: bigint, host: Host, result: HostResult): void;
  progress?(done: number, total: number): void;
}

/** Options of {@link discoverHosts}. */
export interface DiscoveryOptions extends EngineRunOptions {
  /**
   * Probes to send (-PE, -PS443, -PA80, -PR). When omitted: ARP / neighbour
   * solicitation for targets on a local Ethernet link (as nmap does), else
   * ICMP echo, SYN to 443 and ACK to 80.
   */
  probes?: DiscoveryProbe[];
  initialRate?: number;
}

/** 48 bits as nmap writes a MAC address: "32:28:85:3D:F7:A7". */
function macText(mac: number): string {
  const hex = mac.toString(16).toUpperCase().padStart(12, "0");
  return hex.match(/../g)!.join(":");
}

/** nmap's default discovery probes for a target on a local link or not. */
export function defaultDiscoveryProbes(onLink: boolean): DiscoveryProbe[] {
  return onLink
    ? [{ kind: "arp" }]
    : [{ kind: "echo" }, { kind: "syn", port: 443 }, { kind: "ack", port: 80 }];
}

/**
 * Host discovery over raw sockets: every host of `plan.targets` (this
 * shard's, when `plan.shard` is set) is reported up with the reason of the
 * first answer (echo-reply, syn-ack, reset, arp-response, nd-response, …)
 * or down with no-response. `plan.ports` is ignored.
 */
export async function discoverHosts(
  plan: RawScanPlan,
  sink: DiscoverySink,
  options: DiscoveryOptions = {},
): Promise<RawEngineStats> {
  const { sources, links } = findSources(plan);
  const probes4 = options.probes ?? defaultDiscoveryProbes(links[4] !== undefined);
  const probes6 = options.probes ?? defaultDiscoveryProbes(links[6] !== undefined);
  const usable = (probes: DiscoveryProbe[], link: LocalLink | undefined): DiscoveryProbe[] =>
    link === undefined ? probes.filter((probe) => probe.kind !== "arp") : probes;
  const discovery = { 4: usable(probes4, links[4]), 6: usable(probes6, links[6]) };
  if (discovery[4].length === 0 && discovery[6].length === 0) {
    throw new RangeError(
      "Cannot discover hosts: ARP / neighbour discovery needs targets on a local link",
    );
  }
  const mode: RawScanMode = {
    kind: "discovery",
    units: 1,
    unitOf: () => 0,
    verdictOf(record: ReplyRecord): RawVerdict | undefined {
      if (record.kind === ReplyKind.IcmpError && !record.fromTarget) {
        return { state: "down", reason: record.reason };
      }
      return {
        state: "up",
        reason: record.reason,
        ...(record.mac !== undefined ? { mac: record.mac } : {}),
      };
    },
    silent: { state: "down", reason: "no-response" },
    emit(hostIndex: bigint, host: Host, _unit: number, verdict: RawVerdict): void {
      sink.host(hostIndex, host, {
        address: host.address,
        hostnames: host.hostname !== undefined ? [host.hostname] : [],
        state: verdict.state === "up" ? "up" : "down",
        reason: verdict.reason,
        ...(verdict.ttl !== undefined ? { reasonTtl: verdict.ttl } : {}),
        ...(verdict.rtt !== undefined ? { rtt: verdict.rtt } : {}),
        ...(verdict.mac !== undefined ? { mac: macText(verdict.mac) } : {}),
      });
    },
  };
  const io = await openRawIo({
    mode: "discovery",
    ports: [],
    discovery,
    sources,
    links,
    key: createCookieKey(),
    attempts: attemptsFor(plan.timing.maxRetries),
  });
  try {
    return await runRawScan({ ...plan, ports: [0] }, sink, io, mode, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.drainMs !== undefined ? { drainMs: options.drainMs } : {}),
      ...(options.initialRate !== undefined ? { initialRate: options.initialRate } : {}),
    });
  } finally {
    await io.close();
  }
}
