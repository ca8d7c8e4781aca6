/**
 * Timing: nmap's -T templates and the round-trip-time estimator that sets
 * probe timeouts.
 *
 * @module
 */

import type { Timing, TimingLevel } from "./types.ts";

/**
 * nmap's timing templates (nmap(1), "Timing and Performance"). Parallelism is
 * ours: nmap caps it by the descriptor limit, we by what the engine can take.
 */
const TEMPLATES: Record<TimingLevel, Omit<Timing, "level" | "minRate" | "maxRate">> = {
  0: {
    minRttTimeout: 100,
    maxRttTimeout: 300_000,
    initialRttTimeout: 300_000,
    maxRetries: 10,
    hostTimeout: 0,
    scanDelay: 300_000,
    maxParallelism: 1,
  },
  1: {
    minRttTimeout: 100,
    maxRttTimeout: 15_000,
    initialRttTimeout: 15_000,
    maxRetries: 10,
    hostTimeout: 0,
    scanDelay: 15_000,
    maxParallelism: 1,
  },
  2: {
    minRttTimeout: 100,
    maxRttTimeout: 10_000,
    initialRttTimeout: 1_000,
    maxRetries: 10,
    hostTimeout: 0,
    scanDelay: 400,
    maxParallelism: 1,
  },
  3: {
    minRttTimeout: 100,
    maxRttTimeout: 10_000,
    initialRttTimeout: 1_000,
    maxRetries: 10,
    hostTimeout: 0,
    scanDelay: 0,
    maxParallelism: 4096,
  },
  4: {
    minRttTimeout: 100,
    maxRttTimeout: 1_250,
    initialRttTimeout: 500,
    maxRetries: 6,
    hostTimeout: 0,
    scanDelay: 0,
    maxParallelism: 8192,
  },
  5: {
    minRttTimeout: 50,
    maxRttTimeout: 300,
    initialRttTimeout: 250,
    maxRetries: 2,
    hostTimeout: 900_000,
    scanDelay: 0,
    maxParallelism: 8192,
  },
};

/** The timing of template `level` (-T0 … -T5) before explicit flags. */
export function timingTemplate(level: TimingLevel): Timing {
  return { level, minRate: 0, maxRate: 0, ...TEMPLATES[level] };
}

/**
 * Round-trip-time estimator (RFC 6298, as nmap uses it): the timeout is
 * srtt + 4 × rttvar, clamped to the template's bounds.
 */
export class RttEstimator {
  #srtt = 0;
  #rttvar = 0;
  #samples = 0;
  #timing: Timing;

  constructor(timing: Timing) {
    this.#timing = timing;
  }

  /** Number of samples seen. */
  get samples(): number {
    return this.#samples;
  }

  /** Smoothed RTT in ms (0 before the first sample). */
  get srtt(): number {
    return this.#srtt;
  }

  /** RTT variation in ms. */
  get rttvar(): number {
    return this.#rttvar;
  }

  /** Feed one measured round trip, in ms. */
  sample(rtt: number): void {
    if (!(rtt >= 0) || !Number.isFinite(rtt)) return;
    if (this.#samples === 0) {
      this.#srtt = rtt;
      this.#rttvar = rtt / 2;
    } else {
      this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - rtt);
      this.#srtt = 0.875 * this.#srtt + 0.125 * rtt;
    }
    this.#samples++;
  }

  /** The probe timeout, ms. */
  timeout(): number {
    const { minRttTimeout, maxRttTimeout, initialRttTimeout } = this.#timing;
    const raw = this.#samples === 0 ? initialRttTimeout : this.#srtt + 4 * this.#rttvar;
    return Math.min(maxRttTimeout, Math.max(minRttTimeout, raw));
  }
}
