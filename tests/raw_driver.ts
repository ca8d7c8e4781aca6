/**
 * Drives the raw engine from the command line, for the lab tests and the
 * bench (the CLI proper is wired by the lead): builds a plan, runs a SYN or
 * UDP scan or host discovery, and prints one JSON document with every
 * verdict and the engine's stats.
 *
 * ```sh
 * deno run -A tests/raw_driver.ts --scan syn|udp|discovery --targets 198.51.100.2 \
 *   [--ports 1-1000] [--seed 1] [--shard 0/2] [--timing 4] [--max-retries N] \
 *   [--min-rate N] [--max-rate N] [--host-timeout MS] [--probes echo,syn443,ack80,arp] \
 *   [--fold closed]
 * ```
 *
 * `--fold STATE` lists the ports in that state per host and reason as
 * ranges under `folded` instead of one object each, as nmap's XML folds
 * them into `<extraports>` (all 65535 ports as objects are ~8 MB of JSON).
 *
 * @module
 */

import { createRawEngine, discoverHosts } from "../src/engine/raw/engine.ts";
import { parseShard } from "../src/engine/order.ts";
import type { DiscoveryProbe } from "../src/engine/raw/types.ts";
import { timingTemplate } from "../src/engine/timing.ts";
import type { HostResult, PortResult } from "../src/model/mod.ts";
import type { ScanPlan, TimingLevel } from "../src/engine/types.ts";
import { buildTargetSet } from "../src/targets/mod.ts";

/** Ports of one host in one state and reason, as ranges ("1-21,23,25-79"). */
export interface FoldedPorts {
  address: string;
  protocol: string;
  state: string;
  reason: string;
  ports: string;
}

/** Split `ports` into those listed one by one and those in `state`, folded per host and reason. */
export function foldPorts(
  ports: PortResult[],
  state: string,
): { ports: PortResult[]; folded: FoldedPorts[] } {
  const listed: PortResult[] = [];
  // Per host, protocol and reason: a bitmap of its ports (sorting 65535 numbers costs more).
  const groups = new Map<string, { head: PortResult; ports: Uint8Array }>();
  for (const port of ports) {
    if (port.state !== state) {
      listed.push(port);
      continue;
    }
    const key = `${port.address} ${port.protocol} ${port.reason}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { head: port, ports: new Uint8Array(65537) };
      groups.set(key, group);
    }
    group.ports[port.port] = 1;
  }
  const folded: FoldedPorts[] = [];
  for (const { head, ports: marked } of groups.values()) {
    const ranges: string[] = [];
    for (let port = 0; port <= 65535; port++) {
      if (marked[port] === 0) continue;
      let last = port;
      while (marked[last + 1] === 1) last++;
      ranges.push(last === port ? `${port}` : `${port}-${last}`);
      port = last;
    }
    folded.push({
      address: head.address,
      protocol: head.protocol,
      state,
      reason: head.reason,
      ports: ranges.join(","),
    });
  }
  return { ports: listed, folded };
}

/** Parse "1-5,80,443" into sorted unique ports. */
export function parsePortList(text: string): number[] {
  const marked = new Uint8Array(65536);
  for (const part of text.split(",")) {
    const [low, high] = part.split("-").map(Number);
    if (low === undefined || !Number.isInteger(low) || low < 0 || (high ?? low) > 65535) {
      throw new SyntaxError(`Cannot parse port list "${text}": bad item "${part}"`);
    }
    marked.fill(1, low, (high ?? low) + 1);
  }
  const ports: number[] = [];
  for (let port = 0; port < 65536; port++) if (marked[port] === 1) ports.push(port);
  return ports;
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
  if (options.has("host-timeout")) timing.hostTimeout = Number(options.get("host-timeout"));
  const plan: ScanPlan = {
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
  const output = options.has("fold")
    ? { seconds, stats, ...foldPorts(ports, options.get("fold")!), hosts }
    : { seconds, stats, ports, hosts };
  // Written in one go: console.log of a few megabytes (all 65535 ports) takes ~0.3 s.
  const bytes = new TextEncoder().encode(`${JSON.stringify(output)}\n`);
  for (let at = 0; at < bytes.length;) at += await Deno.stdout.write(bytes.subarray(at));
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
