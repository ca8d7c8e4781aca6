/**
 * The connect scan (-sT) as a {@link ScanEngine}: the one scheduler over
 * epoll through FFI where the process may use FFI, `Deno.connect` otherwise.
 *
 * @module
 */

import { openLibc } from "../libc.ts";
import { runScan } from "../scheduler.ts";
import type { ScanMode } from "../transport.ts";
import type { PortResult, PortState } from "../../model/mod.ts";
import type { EngineRunOptions, EngineSink, EngineStats, ScanEngine, ScanPlan } from "../types.ts";
import { createDenoTransport } from "./deno.ts";
import { createEpollTransport } from "./epoll.ts";
import { createParallelTransport } from "./parallel.ts";
import type { ConnectTransport } from "./outcome.ts";

/** Which transport a connect scan runs on. */
export type ConnectTransportKind = "auto" | "epoll" | "deno";

/**
 * Probes from which a second thread pays for its start (~10 ms, ~11 MB):
 * below it the scan is over before the worker helps.
 */
const PARALLEL_MIN_PROBES = 20_000;

/** Options of {@link createConnectEngine}. */
export interface ConnectEngineOptions {
  transport?: ConnectTransportKind;
  /** Threads that connect (default: 2 for scans of 20,000 probes or more where there are ≥ 2 CPUs). */
  threads?: 1 | 2;
  /** Starting rate, probes/s (the scheduler's default when omitted). */
  initialRate?: number;
}

/** The transport `kind` resolves to on this process. */
export function resolveConnectTransport(kind: ConnectTransportKind): "epoll" | "deno" {
  if (kind === "deno") return "deno";
  const libc = openLibc();
  if (libc === undefined) {
    if (kind === "epoll") {
      throw new Error("The epoll connect engine needs FFI: run with --allow-ffi on Linux");
    }
    return "deno";
  }
  libc.close();
  return "epoll";
}

/** A connect-scan engine. */
export function createConnectEngine(options: ConnectEngineOptions = {}): ScanEngine {
  const kind = resolveConnectTransport(options.transport ?? "auto");
  return {
    name: `connect/${kind}`,
    async run(
      plan: ScanPlan,
      sink: EngineSink,
      runOptions: EngineRunOptions,
    ): Promise<EngineStats> {
      let transport: ConnectTransport;
      let closeLibc = (): void => {};
      if (kind === "epoll") {
        const libc = openLibc();
        if (libc === undefined) throw new Error("FFI became unavailable");
        const probes = plan.targets.size * BigInt(plan.ports.length);
        const parallel = options.threads === 2 ||
          (options.threads === undefined && navigator.hardwareConcurrency >= 2 &&
            probes >= BigInt(PARALLEL_MIN_PROBES));
        transport = parallel
          ? createParallelTransport(libc, { ports: plan.ports })
          : createEpollTransport(libc, { ports: plan.ports });
        closeLibc = () => libc.close();
      } else {
        transport = createDenoTransport({ ports: plan.ports });
      }
      const mode: ScanMode = {
        kind: "connect",
        units: plan.ports.length,
        silent: { state: "filtered", reason: "no-response" },
        emit(hostIndex, host, unit, verdict): void {
          const result: PortResult = {
            address: host.address,
            protocol: "tcp",
            port: plan.ports[unit]!,
            state: verdict.state as PortState,
            reason: verdict.reason,
          };
          if (verdict.rtt !== undefined) result.rtt = verdict.rtt;
          sink.result(hostIndex, host, result);
        },
      };
      try {
        return await runScan(plan, sink, transport, mode, {
          ...(runOptions.signal ? { signal: runOptions.signal } : {}),
          ...(runOptions.drainMs !== undefined ? { drainMs: runOptions.drainMs } : {}),
          ...(runOptions.trace !== undefined ? { trace: runOptions.trace } : {}),
          ...(options.initialRate !== undefined ? { initialRate: options.initialRate } : {}),
          exactTimes: kind === "epoll",
        });
      } finally {
        transport.close();
        closeLibc();
      }
    },
  };
}
