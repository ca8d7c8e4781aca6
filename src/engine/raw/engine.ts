/**
 * The raw-socket engine: SYN scan (-sS) and UDP scan (-sU) as a
 * {@link ScanEngine}, and host discovery (ICMP echo, TCP SYN and ACK, ARP
 * and neighbour discovery on a local link). Needs FFI and root or
 * CAP_NET_RAW; {@link rawAvailable} says whether this process has them.
 *
 * @module
 */

import { addressFromHost, createCookieKey, type IpAddress, IpProtocol } from "../../packet/mod.ts";
import type { Host } from "../../targets/types.ts";
import { defaultDiscoveryProbes, openRawIo, type RawIoHandle } from "./io.ts";
import { HostIndexer } from "./hosts.ts";
import { openRawLibc } from "./libc.ts";
import { listLocalAddresses } from "./ifaddrs.ts";
import { RouteCache } from "./route.ts";
import { attemptsFor, runScan } from "../scheduler.ts";
import type { Answer, ScanMode, Transport, Verdict } from "../transport.ts";
import { type DiscoveryProbe, type RawScanType, ReplyKind, type ReplyRecord } from "./types.ts";
import type { HostResult, PortResult, PortState } from "../../model/mod.ts";
import type { EngineRunOptions, EngineSink, EngineStats, ScanEngine, ScanPlan } from "../types.ts";

export { rawAvailable } from "./net.ts";
export type { RawAvailability } from "./net.ts";

/** Options of {@link createRawEngine}. */
export interface RawEngineOptions {
  /** SYN (-sS) or UDP (-sU). */
  scan: RawScanType;
  /** Starting rate, probes/s (default 2000; it doubles while answers come back clean). */
  initialRate?: number;
  /** Gap between paced UDP retries to a host that rate-limits ICMP, ms (default 1010). */
  icmpPaceMs?: number;
}

// Shared and frozen: an object per reply would be garbage at 100,000 a second (the scheduler copies).
const SYN_OPEN: Verdict = Object.freeze({ state: "open", reason: "syn-ack" });
const SYN_CLOSED: Verdict = Object.freeze({ state: "closed", reason: "reset" });
const UDP_OPEN: Verdict = Object.freeze({ state: "open", reason: "udp-response" });

/** The ICMP reasons nmap calls filtered for a SYN scan (unreachable codes 0/1/2/3/9/10/13 and kin). */
function synVerdict(record: ReplyRecord): Verdict | undefined {
  switch (record.kind) {
    case ReplyKind.SynAck:
      return SYN_OPEN;
    case ReplyKind.Reset:
      return SYN_CLOSED;
    case ReplyKind.IcmpError:
      return record.protocol === IpProtocol.Tcp
        ? { state: "filtered", reason: record.reason }
        : undefined;
  }
  return undefined;
}

function udpVerdict(record: ReplyRecord): Verdict | undefined {
  switch (record.kind) {
    case ReplyKind.Udp:
      return UDP_OPEN;
    case ReplyKind.IcmpError:
      if (record.protocol !== IpProtocol.Udp) return undefined;
      if (record.reason === "port-unreach" && record.fromTarget) {
        return { state: "closed", reason: "port-unreach" };
      }
      return { state: "filtered", reason: record.reason };
  }
  return undefined;
}

/** How replies map to units and verdicts. */
interface ReplyReader {
  /** The unit a reply answers (e.g. port to port index), or undefined when none. */
  unitOf(record: ReplyRecord): number | undefined;
  /** The verdict a reply gives, or undefined when it settles nothing. */
  verdictOf(record: ReplyRecord): Verdict | undefined;
  /** The verdict of a unit whose host has no route (nothing could be sent). */
  noRoute: Verdict;
}

/** The raw I/O as the scheduler's transport: replies keyed by address become answers keyed by unit. */
function rawTransport(io: RawIoHandle, plan: ScanPlan, reader: ReplyReader): Transport {
  const indexer = new HostIndexer(plan.targets);
  /** Units whose host has no route: answered at once, so none is called silent. */
  let unroutable: Answer[] = [];
  return {
    send(probe): void {
      if (io.send(probe)) return;
      unroutable.push({
        hostIndex: probe.hostIndex,
        unit: probe.unit,
        attempt: probe.attempt,
        at: io.now(),
        ttl: 0,
        verdict: { ...reader.noRoute },
        timed: false,
        portUnreach: false,
      });
    },
    flush: () => io.flush(),
    wait: (ms) => io.wait(ms),
    now: () => io.now(),
    caughtUp: () => io.caughtUp(),
    receiverStats: () => io.receiverStats(),
    receive(): Answer[] {
      const answers = unroutable;
      unroutable = [];
      for (const record of io.receive()) {
        const hostIndex = indexer.indexOf(record.family, record.address);
        if (hostIndex === undefined) continue;
        const unit = reader.unitOf(record);
        if (unit === undefined) continue;
        const kind = record.kind;
        answers.push({
          hostIndex,
          unit,
          attempt: record.attempt,
          at: record.at,
          ttl: record.ttl,
          verdict: reader.verdictOf(record),
          // ICMP is rate-limited by routers and targets, ARP/ND answer for the host: neither times the path.
          timed: kind !== ReplyKind.IcmpError && kind !== ReplyKind.Arp &&
            kind !== ReplyKind.Neighbor,
          portUnreach: kind === ReplyKind.IcmpError && record.reason === "port-unreach" &&
            record.fromTarget,
        });
      }
      return answers;
    },
  };
}

/** Route cache and our addresses, for the I/O of one scan. */
function openRoutes(): { routes: RouteCache; localAddresses: IpAddress[]; close(): void } {
  const libc = openRawLibc();
  if (libc === undefined) {
    throw new Error("Cannot run a raw scan: FFI is not allowed (--allow-ffi)");
  }
  let localAddresses: IpAddress[];
  try {
    localAddresses = listLocalAddresses();
  } catch (error) {
    libc.close();
    throw new Error(`Cannot run a raw scan: ${(error as Error).message}`);
  }
  return { routes: new RouteCache(libc), localAddresses, close: () => libc.close() };
}

/**
 * A raw-socket engine for SYN or UDP scans. `run` takes a {@link ScanPlan}
 * or a {@link ScanPlan} (with `shard`) and resolves to
 * {@link EngineStats} (a superset of EngineStats with `receiverDrops`).
 */
export function createRawEngine(options: RawEngineOptions): ScanEngine {
  const scan = options.scan;
  return {
    name: `raw/${scan}`,
    async run(
      plan: ScanPlan,
      sink: EngineSink,
      runOptions: EngineRunOptions,
    ): Promise<EngineStats> {
      const attempts = attemptsFor(plan.timing.maxRetries);
      const portIndex = new Int32Array(65536).fill(-1);
      plan.ports.forEach((port, index) => portIndex[port] = index);
      const protocol = scan === "syn" ? "tcp" : "udp";
      const reader: ReplyReader = {
        unitOf(record: ReplyRecord): number | undefined {
          const index = portIndex[record.port] ?? -1;
          return index < 0 ? undefined : index;
        },
        verdictOf: scan === "syn" ? synVerdict : udpVerdict,
        noRoute: { state: "filtered", reason: "no-route" },
      };
      const mode: ScanMode = {
        kind: scan,
        units: plan.ports.length,
        silent: scan === "syn"
          ? { state: "filtered", reason: "no-response" }
          : { state: "open|filtered", reason: "no-response" },
        emit(hostIndex: bigint, host: Host, unit: number, verdict: Verdict): void {
          const port = plan.ports[unit]!;
          const state = verdict.state as PortState;
          const { rtt, ttl } = verdict;
          // A reply's verdict as one literal with all its fields: a field added afterwards
          // costs the object a property array (a sweep keeps 32,768 open ones); no spreads
          // of optional parts either, which cost a temporary object a verdict.
          const result: PortResult = rtt !== undefined && ttl !== undefined
            ? {
              address: host.address,
              protocol,
              port,
              state,
              reason: verdict.reason,
              rtt,
              reasonTtl: ttl,
            }
            : { address: host.address, protocol, port, state, reason: verdict.reason };
          if (rtt !== undefined && ttl === undefined) result.rtt = rtt;
          if (ttl !== undefined && rtt === undefined) result.reasonTtl = ttl;
          sink.result(hostIndex, host, result);
        },
      };
      const network = openRoutes();
      let io: RawIoHandle;
      try {
        io = await openRawIo({
          mode: scan,
          ports: plan.ports,
          routes: network.routes,
          localAddresses: network.localAddresses,
          key: createCookieKey(),
          attempts,
        });
      } catch (error) {
        network.close();
        throw error;
      }
      try {
        return await runScan(plan, sink, rawTransport(io, plan, reader), mode, {
          ...(runOptions.signal ? { signal: runOptions.signal } : {}),
          ...(runOptions.drainMs !== undefined ? { drainMs: runOptions.drainMs } : {}),
          ...(runOptions.trace !== undefined ? { trace: runOptions.trace } : {}),
          ...(options.initialRate !== undefined ? { initialRate: options.initialRate } : {}),
          ...(options.icmpPaceMs !== undefined ? { icmpPaceMs: options.icmpPaceMs } : {}),
        });
      } finally {
        await io.close();
        network.close();
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

export { defaultDiscoveryProbes };

/** 48 bits as nmap writes a MAC address: "32:28:85:3D:F7:A7". */
function macText(mac: number): string {
  const hex = mac.toString(16).toUpperCase().padStart(12, "0");
  return hex.match(/../g)!.join(":");
}

/**
 * Host discovery over raw sockets: every host of `plan.targets` (this
 * shard's, when `plan.shard` is set) is reported up with the reason of the
 * first answer (echo-reply, syn-ack, reset, arp-response, nd-response, …)
 * or down with no-response. `plan.ports` is ignored.
 */
export async function discoverHosts(
  plan: ScanPlan,
  sink: DiscoverySink,
  options: DiscoveryOptions = {},
): Promise<EngineStats> {
  const network = openRoutes();
  const first = plan.targets.size > 0n ? plan.targets.at(0n) : undefined;
  const explicit = options.probes;
  if (
    explicit !== undefined && explicit.every((probe) => probe.kind === "arp") &&
    first !== undefined &&
    network.routes.routeFor(first, addressFromHost(first))?.link === undefined
  ) {
    network.close();
    throw new RangeError(
      "Cannot discover hosts: ARP / neighbour discovery needs targets on a local link",
    );
  }
  const reader: ReplyReader = {
    unitOf: () => 0,
    verdictOf(record: ReplyRecord): Verdict | undefined {
      if (record.kind === ReplyKind.IcmpError && !record.fromTarget) {
        return { state: "down", reason: record.reason };
      }
      return {
        state: "up",
        reason: record.reason,
        ...(record.mac !== undefined ? { mac: record.mac } : {}),
      };
    },
    noRoute: { state: "down", reason: "no-route" },
  };
  const mode: ScanMode = {
    kind: "discovery",
    units: 1,
    silent: { state: "down", reason: "no-response" },
    emit(hostIndex: bigint, host: Host, _unit: number, verdict: Verdict): void {
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
  let io: RawIoHandle;
  try {
    io = await openRawIo({
      mode: "discovery",
      ports: [],
      ...(explicit !== undefined ? { discovery: explicit } : {}),
      routes: network.routes,
      localAddresses: network.localAddresses,
      key: createCookieKey(),
      attempts: attemptsFor(plan.timing.maxRetries),
    });
  } catch (error) {
    network.close();
    throw error;
  }
  try {
    const discoveryPlan = { ...plan, ports: [0] };
    return await runScan(discoveryPlan, sink, rawTransport(io, discoveryPlan, reader), mode, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.drainMs !== undefined ? { drainMs: options.drainMs } : {}),
      ...(options.trace !== undefined ? { trace: options.trace } : {}),
      ...(options.initialRate !== undefined ? { initialRate: options.initialRate } : {}),
    });
  } finally {
    await io.close();
    network.close();
  }
}
