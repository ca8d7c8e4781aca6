/**
 * Scan engines and their shared machinery.
 *
 * @module
 */

export type * from "./types.ts";
export { createConnectEngine, resolveConnectTransport } from "./connect/engine.ts";
export type { ConnectEngineOptions, ConnectTransportKind } from "./connect/engine.ts";
export { ProbeOrder, runConnectScan } from "./connect_scan.ts";
export { CongestionWindow, RateLimiter, RttEstimator, timingTemplate } from "./timing.ts";
export { createPermutation } from "./permutation.ts";
