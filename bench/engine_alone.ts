/**
 * The raw SYN engine alone, its verdicts dropped: what the engine costs in
 * time and memory without the pipeline after it. Run by
 * `bench/pipeline_bench.ts --scenarios engine` in the lab's scanner namespace.
 *
 * ```sh
 * deno run -A bench/engine_alone.ts 198.18.0.0/16 80 95
 * ```
 *
 * @module
 */

import { createRawEngine } from "../src/engine/mod.ts";
import { timingTemplate } from "../src/engine/timing.ts";
import { buildTargetSet } from "../src/targets/mod.ts";

/** Entry point: scan `spec` on ports `first`..`last` at -T4 and print one JSON line. */
export async function main(args: readonly string[]): Promise<number> {
  const [spec, first, last] = args;
  if (spec === undefined || first === undefined || last === undefined) {
    console.error("usage: engine_alone.ts TARGETS FIRST-PORT LAST-PORT");
    return 2;
  }
  const ports: number[] = [];
  for (let port = Number(first); port <= Number(last); port++) ports.push(port);
  const targets = await buildTargetSet([spec], { exclude: [], family: "any" });
  let verdicts = 0;
  const started = performance.now();
  const stats = await createRawEngine({ scan: "syn" }).run({
    targets,
    protocol: "tcp",
    ports,
    timing: timingTemplate(4),
    seed: 1n,
    sequential: false,
  }, {
    result(): void {
      verdicts++;
    },
  }, {});
  const seconds = (performance.now() - started) / 1000;
  const memory = Deno.memoryUsage();
  console.log(JSON.stringify({
    verdicts,
    sends: stats.probes,
    seconds: Number(seconds.toFixed(2)),
    sendsPerSecond: Math.round(stats.probes / seconds),
    heapMb: Math.round(memory.heapUsed / 2 ** 20),
    darkRetriesSkipped: stats.darkRetriesSkipped,
    stats,
  }));
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
