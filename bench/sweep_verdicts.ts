/**
 * The lab's /16 sweep as verdicts, without a network, for the benches of
 * what comes after the engine: 65536 hosts × ports 80–95, the lower half
 * answering (port 80 open, the rest reset), the upper half silent, hosts
 * interleaved as a scan's shuffled order gives them.
 *
 * @module
 */

import type { PortResult } from "../src/model/mod.ts";
import type { Host } from "../src/targets/types.ts";

/** Hosts of the sweep (198.18.0.0/16). */
export const SWEEP_HOSTS = 65536;
/** Hosts that answer: the lower half. */
export const SWEEP_LIVE = 32768;
/** Ports scanned on each. */
export const SWEEP_PORTS: readonly number[] = Array.from({ length: 16 }, (_, i) => 80 + i);

/** The sweep's host at `index`, a fresh object. */
export function sweepHost(index: number): Host {
  return {
    family: 4,
    value: 0xc6120000n + BigInt(index),
    address: `198.18.${index >> 8}.${index & 255}`,
  };
}

/**
 * Every verdict of the sweep once, in a multiplicative walk of the probe
 * space (odd step), with its host from `hostAt` and its count so far.
 */
export function* sweepVerdicts(
  hostAt: (index: number) => Host,
): Generator<[result: PortResult, host: Host, count: number]> {
  const total = SWEEP_HOSTS * SWEEP_PORTS.length;
  const step = 0x9e3779b1 % total | 1;
  for (let i = 0, position = 0; i < total; i++, position = (position + step) % total) {
    const index = position >> 4;
    const host = hostAt(index);
    const port = 80 + (position & 15);
    const address = host.address;
    const result: PortResult = index < SWEEP_LIVE
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
    yield [result, host, i];
  }
}
