/**
 * Scan engines: the one scheduler and its transports (connect through epoll
 * or `Deno.connect`; raw SYN, UDP and discovery), as the scan layer uses them.
 *
 * @module
 */

export type * from "./types.ts";
export { createConnectEngine, resolveConnectTransport } from "./connect/engine.ts";
export type { ConnectEngineOptions, ConnectTransportKind } from "./connect/engine.ts";
export { createRawEngine, discoverHosts, rawAvailable } from "./raw/lazy.ts";
export type { DiscoveryOptions, DiscoverySink, RawEngineOptions } from "./raw/engine.ts";
export type { DiscoveryProbe, RawScanType } from "./raw/types.ts";
export { parseShard } from "./order.ts";
export { randomSeed } from "./permutation.ts";
export { rateCeiling, SWEEP_HOSTS, SWEEP_RATE } from "./rate.ts";
export type { RateCeiling } from "./rate.ts";
export { timingTemplate } from "./timing.ts";
