/**
 * The connect scan (-sT) as a {@link ScanEngine}: epoll through FFI where the
 * process may use FFI, `Deno.connect` otherwise.
 *
 * @module
 */

import { runConnectScan } from "../connect_scan.ts";
import type { ConnectTransport } from "../connect_types.ts";
import { createDenoTransport } from "./deno.ts";
import { createEpollTransport } from "./epoll.ts";
import { openLibc } from "../libc.ts";
import type { EngineRunOptions, EngineSink, EngineStats, ScanEngine, ScanPlan } from "../types.ts";

/** Which transport a connect scan runs on. */
export type ConnectTransportKind = "auto" | "epoll" | "deno";

/** Options of {@link createConnectEngine}. */
export interface ConnectEngineOptions {
  transport?: ConnectTransportKind;
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
        transport = createEpollTransport(libc);
        closeLibc = () => libc.close();
      } else {
        transport = createDenoTransport();
      }
      try {
        return await runConnectScan(plan, sink, transport, {
          ...(runOptions.signal ? { signal: runOptions.signal } : {}),
          ...(runOptions.drainMs !== undefined ? { drainMs: runOptions.drainMs } : {}),
        });
      } finally {
        transport.close();
        closeLibc();
      }
    },
  };
}
