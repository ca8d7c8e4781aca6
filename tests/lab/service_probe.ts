/**
 * Runs service detection on some ports of one address and prints the
 * results as JSON: `{ "ms": elapsed, "ports": [PortResult...] }`. The lab's
 * tests and the service bench run it inside the scanner namespace.
 *
 * ```sh
 * deno run --allow-net tests/lab/service_probe.ts 198.51.100.2 21,22,80 [--intensity 7]
 * ```
 *
 * @module
 */

import type { PortResult } from "../../src/model/mod.ts";
import { detectServices, parseVersionIntensity } from "../../src/service/mod.ts";
import { probePlugins } from "../../plugins/mod.ts";

/** Parses `ADDRESS PORTS [--intensity N]`. */
export function parseProbeArgs(
  args: readonly string[],
): { address: string; ports: number[]; intensity: number } {
  const [address, list, flag, value] = args;
  if (address === undefined || list === undefined) {
    throw new SyntaxError(`Cannot parse arguments "${args.join(" ")}": ADDRESS PORTS expected`);
  }
  const ports = list.split(",").map((text) => {
    const port = Number(text);
    if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
      throw new RangeError(`Cannot parse port "${text}": value must be 1-65535`);
    }
    return port;
  });
  let intensity = 7;
  if (flag !== undefined) {
    if (flag !== "--intensity" || value === undefined) {
      throw new SyntaxError(`Cannot parse option "${flag}": --intensity N expected`);
    }
    intensity = parseVersionIntensity(value);
  }
  return { address, ports, intensity };
}

if (import.meta.main) {
  const { address, ports, intensity } = parseProbeArgs(Deno.args);
  const start = performance.now();
  const results = await detectServices(
    ports.map((port): PortResult => ({
      address,
      protocol: "tcp",
      port,
      state: "open",
      reason: "syn-ack",
    })),
    { intensity, plugins: probePlugins.map((make) => make()) },
  );
  console.log(JSON.stringify({ ms: Math.round(performance.now() - start), ports: results }));
}
