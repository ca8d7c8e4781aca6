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

import type { PortResult } from "../src/model/mod.ts";
import { createReportBuilder, type ReportBuilder } from "../src/output/report_builder.ts";
import type { Host } from "../src/targets/types.ts";

const HOSTS = 65536;
const LIVE = 32768;
const PORTS = Array.from({ length: 16 }, (_, i) => 80 + i);

/** Heap and off-heap bytes in use after a full collection. */
function used(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const memory = Deno.memoryUsage();
  return memory.heapUsed + memory.external;
}

function feed(targets: readonly Host[]): { builder: ReportBuilder; seconds: number } {
  const builder = createReportBuilder(
    { version: "bench", args: [], scaninfo: [], start: new Date(0) },
    { scanned: { tcp: PORTS } },
  );
  const total = HOSTS * PORTS.length;
  // A multiplicative walk of the probe space (odd step): every verdict once, hosts interleaved.
  const step = 0x9e3779b1 % total | 1;
  const started = performance.now();
  for (let i = 0, position = 0; i < total; i++, position = (position + step) % total) {
    const target = targets[position >> 4]!;
    const port = 80 + (position & 15);
    const address = target.address;
    const result: PortResult = (position >> 4) < LIVE
      ? {
        address,
        protocol: "tcp",
        port,
        state: port === 80 ? "open" : "closed",
        reason: port === 80 ? "syn-ack" : "reset",
        rtt: 0.2,
        reasonTtl: 64,
      }
      : { address, protocol: "tcp", port, state: "filtered", reason: "no-response" };
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
  const targets: Host[] = Array.from({ length: HOSTS }, (_, i) => ({
    family: 4,
    value: 0xc6120000n + BigInt(i),
    address: `198.18.${i >> 8}.${i & 255}`,
  }));
  const before = used();
  const { builder, seconds } = feed(targets);
  const held = used();
  const started = performance.now();
  const report = builder.finish({ probes: HOSTS * PORTS.length, retries: 0 }, new Date(1000));
  const finish = (performance.now() - started) / 1000;
  const withReport = used();
  const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
  console.log(
    `report builder: ${HOSTS * PORTS.length} verdicts in ${seconds.toFixed(2)} s (${
      Math.round(HOSTS * PORTS.length / seconds)
    } verdicts/s); holds ${mb(held - before)} MB = ${
      Math.round((held - before) / LIVE)
    } B per answering host; finish ${finish.toFixed(2)} s, report of ${report.hosts.length} hosts ${
      mb(withReport - held)
    } MB`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(main());
