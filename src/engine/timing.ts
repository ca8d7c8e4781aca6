/**
 * Timing: nmap's -T templates, the round-trip-time estimator that sets probe
 * timeouts, and the congestion window that sets how many probes fly at once.
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

/** Options of {@link CongestionWindow}. */
export interface CongestionOptions {
  /** Probes in flight at the start. */
  initial?: number;
  /** Lower bound. */
  min?: number;
  /** Upper bound (the template's parallelism, the descriptor budget). */
  max: number;
}

/**
 * How many probes may be in flight. It grows while answers come back and
 * shrinks on evidence of loss or queueing, at most once per round trip, so a
 * burst of bad news counts once. A probe that is never answered is not
 * evidence of anything: filtered ports stay silent on a healthy path.
 */
export class CongestionWindow {
  #cwnd: number;
  #ssthresh: number;
  #min: number;
  #max: number;
  /** Probes sent before this sequence number belong to the epoch already punished. */
  #recoverSeq = -1;
  #backoffs = 0;

  constructor(options: CongestionOptions) {
    this.#max = Math.max(1, options.max);
    this.#min = Math.max(1, Math.min(options.min ?? 1, this.#max));
    this.#cwnd = Math.min(this.#max, Math.max(this.#min, options.initial ?? 32));
    this.#ssthresh = this.#max;
  }

  /** Probes allowed in flight now. */
  get size(): number {
    return Math.floor(this.#cwnd);
  }

  /** How often the window was cut. */
  get backoffs(): number {
    return this.#backoffs;
  }

  /** Lower the ceiling (e.g. the descriptor budget turned out smaller). */
  cap(max: number): void {
    this.#max = Math.max(this.#min, max);
    this.#cwnd = Math.min(this.#cwnd, this.#max);
    this.#ssthresh = Math.min(this.#ssthresh, this.#max);
  }

  /** A probe was answered. */
  grow(): void {
    if (this.#cwnd < this.#ssthresh) this.#cwnd += 1;
    else this.#cwnd += 1 / this.#cwnd;
    if (this.#cwnd > this.#max) this.#cwnd = this.#max;
  }

  /**
   * Queueing delay (TCP Vegas): with `queued` probes estimated to sit in
   * queues rather than on the wire, the window stops slow start and eases
   * off by an eighth once it holds more than a quarter of itself in queues.
   * Call at most once per round trip.
   */
  queueing(queued: number): void {
    if (queued > Math.max(64, this.#cwnd / 4)) {
      this.#cwnd = Math.max(this.#min, this.#cwnd - Math.max(1, this.#cwnd / 8));
      this.#ssthresh = this.#cwnd;
    }
  }

  /**
   * Loss or overload was seen on a probe sent as number `seq`; `nextSeq` is
   * the number the next probe will get. Returns whether the window was cut.
   */
  shrink(seq: number, nextSeq: number): boolean {
    if (seq <= this.#recoverSeq) return false;
    this.#recoverSeq = nextSeq - 1;
    this.#ssthresh = Math.max(this.#min, this.#cwnd / 2);
    this.#cwnd = this.#ssthresh;
    this.#backoffs++;
    return true;
  }
}

/**
 * Keeps the sending rate within --min-rate / --max-rate. `delay()` says how
 * long to wait before the next probe may go; 0 means now.
 */
export class RateLimiter {
  #maxRate: number;
  #tokens: number;
  #last: number;
  #burst: number;

  constructor(maxRate: number, now: number) {
    this.#maxRate = maxRate;
    // A small burst lets batching engines send a few probes per wake-up.
    this.#burst = maxRate > 0 ? Math.max(1, Math.min(maxRate / 100, 256)) : Infinity;
    this.#tokens = Math.min(this.#burst, 1);
    this.#last = now;
  }

  /** Milliseconds until one probe may be sent (0 = now). */
  delay(now: number): number {
    if (this.#maxRate <= 0) return 0;
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : ((1 - this.#tokens) / this.#maxRate) * 1000;
  }

  /** Account for one probe sent. */
  take(now: number): void {
    if (this.#maxRate <= 0) return;
    this.#refill(now);
    this.#tokens -= 1;
  }

  #refill(now: number): void {
    const elapsed = now - this.#last;
    this.#last = now;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#maxRate) / 1000);
    }
  }
}
