/**
 * Drives the raw engine from the command line, for the lab tests and the
 * bench (the CLI proper is wired by the lead): builds a plan, runs a SYN or
 * UDP scan or host discovery, and prints one JSON document with every
 * verdict and the engine's stats.
 *
 * ```sh
 * deno run -A tests/raw_driver.ts --scan syn|udp|discovery --targets 198.51.100.2 \
 *   [--ports 1-1000] [--seed 1] [--shard 0/2] [--timing 4] [--max-retries N] \
 *   [--min-rate N] [--max-rate N] [--probes echo,syn443,ack80,arp]
 * ```
 *
 * @module
 */

import { createRawEngine, discoverHosts } from "../src/engine/raw_engine.ts";
import { parseShard } from "../src/engine/raw_order.ts";
import type { DiscoveryProbe, RawScanPlan } from "../src/engine/raw_types.ts";
import { timingTemplate } from "../src/engine/timing.ts";
import type { HostResult, PortResult, TimingLevel } from "../src/engine/types.ts";
import { buildTargetSet } from "../src/targets/mod.ts";

/** Parse "1-5,80,443" into sorted unique ports. */
export function parsePortList(text: string): number[] {
  const ports = new Set<number>();
  for (const part of text.split(",")) {
    const [low, high] = part.split("-").map(Number);
    if (low === undefined || !Number.isInteger(low)) {
      throw new SyntaxError(`Cannot parse port list "${text}": bad item "${part}"`);
    }
    for (let port = low; port <= (high ?? low); port++) ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}

function parseProbes(text: string): DiscoveryProbe[] {
  return text.split(",").map((item): DiscoveryProbe => {
    if (item === "echo") return { kind: "echo" };
    if (item === "arp") return { kind: "arp" };
    const syn = /^syn(\d+)$/.exec(item);
    if (syn) return { kind: "syn", port: Number(syn[1]) };
    const ack = /^ack(\d+)$/.exec(item);
    if (ack) return { kind: "ack", port: Number(ack[1]) };
    throw new SyntaxError(`Cannot parse probe "${item}"`);
  });
}

/** Run the driver; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const options = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    options.set(args[i]!.replace(/^--/, ""), args[i + 1] ?? "");
  }
  const scan = options.get("scan") ?? "syn";
  const timing = timingTemplate(Number(options.get("timing") ?? 4) as TimingLevel);
  if (options.has("max-retries")) timing.maxRetries = Number(options.get("max-retries"));
  if (options.has("min-rate")) timing.minRate = Number(options.get("min-rate"));
  if (options.has("max-rate")) timing.maxRate = Number(options.get("max-rate"));
  const plan: RawScanPlan = {
    targets: await buildTargetSet((options.get("targets") ?? "").split(",")),
    protocol: scan === "udp" ? "udp" : "tcp",
    ports: parsePortList(options.get("ports") ?? "80"),
    timing,
    seed: BigInt(options.get("seed") ?? "1"),
    sequential: false,
  };
  if (options.has("shard")) plan.shard = parseShard(options.get("shard")!);
  const started = performance.now();
  const ports: PortResult[] = [];
  const hosts: HostResult[] = [];
  let stats;
  if (scan === "discovery") {
    stats = await discoverHosts(plan, { host: (_i, _h, result) => hosts.push(result) }, {
      ...(options.has("probes") ? { probes: parseProbes(options.get("probes")!) } : {}),
    });
  } else {
    const engine = createRawEngine({ scan: scan === "udp" ? "udp" : "syn" });
    stats = await engine.run(plan, { result: (_i, _h, result) => ports.push(result) }, {});
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ seconds, stats, ports, hosts }));
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
