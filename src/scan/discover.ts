/**
 * Host discovery: which targets are up, before their ports are scanned.
 *
 * @module
 */

import type { ScanOptions } from "./options.ts";
import { createConnectEngine } from "../engine/mod.ts";
import { discoverHosts } from "../engine/mod.ts";
import type { HostResult, PortResult } from "../model/mod.ts";
import type { EngineStats, ScanPlan, Timing } from "../engine/types.ts";
import type { TraceSink } from "../engine/trace.ts";
import type { Host, TargetSet } from "../targets/types.ts";
import type { Modes, UpHost } from "./plan.ts";

/**
 * Find the hosts that are up: raw probes (ICMP echo, SYN 443, ACK 80, or
 * ARP / neighbour discovery on a local link) where raw sockets open, else
 * connect() to 80 and 443 (or the -PS/-PA ports) as nmap does unprivileged.
 */
export async function discover(
  options: ScanOptions,
  modes: Modes,
  context: {
    targets: TargetSet;
    timing: Timing;
    seed: bigint;
    progress: (done: number, total: number) => void;
    signal?: AbortSignal;
    trace?: TraceSink;
  },
): Promise<{ up: UpHost[]; stats: EngineStats }> {
  const { targets, timing, seed } = context;
  const up = new Map<bigint, UpHost>();
  // Only -sn shards hosts; a port scan's shards each need every host's verdict.
  const shard = options.pingOnly ? options.shard : undefined;
  const signalOption = {
    ...(context.signal ? { signal: context.signal } : {}),
    ...(context.trace ? { trace: context.trace } : {}),
  };
  let stats: EngineStats;
  if (modes.discovery === "raw") {
    const plan: ScanPlan = {
      targets,
      protocol: "tcp",
      ports: [0],
      timing,
      seed,
      sequential: options.sequential,
      ...(shard ? { shard } : {}),
    };
    stats = await discoverHosts(plan, {
      host(index: bigint, host: Host, result: HostResult): void {
        if (result.state === "up") {
          up.set(index, { index, host, reason: result.reason, found: result });
        }
      },
      progress: context.progress,
    }, {
      ...signalOption,
      ...(options.discoveryProbes.length > 0 ? { probes: options.discoveryProbes } : {}),
    });
  } else {
    const asked = options.discoveryProbes.flatMap((probe) =>
      probe.kind === "syn" || probe.kind === "ack" ? [probe.port] : []
    );
    const ports = asked.length > 0 ? [...new Set(asked)].sort((a, b) => a - b) : [80, 443];
    const plan: ScanPlan = {
      targets,
      protocol: "tcp",
      ports,
      timing,
      seed,
      sequential: options.sequential,
      ...(shard
        ? { hostFilter: (index: bigint) => index % BigInt(shard.count) === BigInt(shard.index) }
        : {}),
    };
    const engine = createConnectEngine({ transport: options.connectEngine });
    stats = await engine.run(plan, {
      result(index: bigint, host: Host, result: PortResult): void {
        if (up.has(index)) return;
        if (result.state === "open" || result.state === "closed") {
          up.set(index, { index, host, reason: result.reason });
        }
      },
      progress: context.progress,
    }, signalOption);
  }
  const found = [...up.values()].sort((
    a,
    b,
  ) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
  return { up: found, stats };
}
