/**
 * The report builder alone on the /16 sweep's verdicts (65536 hosts × 16
 * ports, the lower half one open port and 15 closed, the upper half
 * silent, in a shuffled order, bounded mode as a wide scan runs it): what
 * it holds per answering host, how fast it takes verdicts, and what the
 * final report weighs. No lab, no engine, no history.
 *
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/report_builder_heap.ts
 * ```
 *
 * @module
 */

import { createReportBuilder, type ReportBuilder } from "../src/output/report_builder.ts";
import type { Host } from "../src/targets/types.ts";

import {
  SWEEP_HOSTS,
  SWEEP_LIVE,
  SWEEP_PORTS,
  sweepHost,
  sweepVerdicts,
} from "./sweep_verdicts.ts";

/** Heap and off-heap bytes in use after a full collection. */
function used(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const memory = Deno.memoryUsage();
  return memory.heapUsed + memory.external;
}

function feed(targets: readonly Host[]): { builder: ReportBuilder; seconds: number } {
  const builder = createReportBuilder(
    { version: "bench", args: [], scaninfo: [], start: new Date(0) },
    { scanned: { tcp: SWEEP_PORTS } },
  );
  const started = performance.now();
  for (const [result, target] of sweepVerdicts((index) => targets[index]!)) {
    builder.addPortOf(result, target);
  }
  return { builder, seconds: (performance.now() - started) / 1000 };
}

/** Entry point: print one line of figures. */
export function main(): number {
  if ((globalThis as { gc?: () => void }).gc === undefined) {
    console.error("run with --v8-flags=--expose-gc");
    return 2;
  }
  const targets: Host[] = Array.from({ length: SWEEP_HOSTS }, (_, i) => sweepHost(i));
  const before = used();
  const { builder, seconds } = feed(targets);
  const held = used();
  const started = performance.now();
  const report = builder.finish(
    { probes: SWEEP_HOSTS * SWEEP_PORTS.length, retries: 0 },
    new Date(1000),
  );
  const finish = (performance.now() - started) / 1000;
  const withReport = used();
  const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
  console.log(
    `report builder: ${SWEEP_HOSTS * SWEEP_PORTS.length} verdicts in ${seconds.toFixed(2)} s (${
      Math.round(SWEEP_HOSTS * SWEEP_PORTS.length / seconds)
    } verdicts/s); holds ${mb(held - before)} MB = ${
      Math.round((held - before) / SWEEP_LIVE)
    } B per answering host; finish ${finish.toFixed(2)} s, report of ${report.hosts.length} hosts ${
      mb(withReport - held)
    } MB`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(main());
