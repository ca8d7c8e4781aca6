/**
 * The raw engine as the rest of the scanner sees it: {@link rawAvailable}
 * at once, the engine itself (raw sockets, its workers, packet building and
 * parsing) loaded by the first raw scan or discovery that runs. A connect
 * scan never loads it, and keeps the memory it would cost.
 *
 * @module
 */

import type { DiscoveryOptions, DiscoverySink, RawEngineOptions } from "./engine.ts";
import type { EngineRunOptions, EngineSink, EngineStats, ScanEngine, ScanPlan } from "../types.ts";

export { rawAvailable } from "./net.ts";

/** {@link import("./engine.ts").createRawEngine}, loaded when it first runs. */
export function createRawEngine(options: RawEngineOptions): ScanEngine {
  return {
    name: `raw/${options.scan}`,
    async run(plan: ScanPlan, sink: EngineSink, run: EngineRunOptions): Promise<EngineStats> {
      const engine = await import("./engine.ts");
      return await engine.createRawEngine(options).run(plan, sink, run);
    },
  };
}

/** {@link import("./engine.ts").discoverHosts}, loaded when it first runs. */
export async function discoverHosts(
  plan: ScanPlan,
  sink: DiscoverySink,
  options: DiscoveryOptions = {},
): Promise<EngineStats> {
  const engine = await import("./engine.ts");
  return await engine.discoverHosts(plan, sink, options);
}
