/**
 * Rate control for the raw engine that tells random loss from congestion.
 *
 * Loss is measured, not guessed: a probe answered only on a retry proves its
 * earlier try was lost, and a probe answered at all proves the path works
 * for it. Both are counted against the sending rate of the try concerned, in
 * power-of-two rate bands. Random loss (a lossy link) is the same at every
 * rate; congestion loss appears only above some rate. So the rate is cut
 * only when a band's loss clearly exceeds the loss of the slower bands
 * below it; never-answered probes (filtered ports, rate-limited RSTs or
 * ICMP) count for nothing. The receiver's own drops are overload and always
 * cut the rate.
 *
 * @module
 */

import type { Timing } from "./types.ts";

/** Used when the plan sets no --max-rate and {@link rateCeiling} none either: about what batched sendmmsg sustains. */
export const DEFAULT_MAX_RATE = 300_000;

/** First rate of a scan, probes/s. */
export const DEFAULT_INITIAL_RATE = 2_000;

/** Answers a band needs before its loss is believed. */
const MIN_SAMPLES = 64;

/**
 * Answers at the current rate before it may grow: growth is clocked by
 * answers, as TCP's slow start is by acknowledgments, so a far host is not
 * flooded before the first loss could be seen, and every band gets
 * measured. One band's worth: from the first rate to the maximum takes
 * about 64 ms of answers on a near host (256 took a quarter of a second).
 */
const GROW_AFTER = MIN_SAMPLES;

/** Sends before the rate may grow without answers (dark address space). */
const GROW_BLIND_AFTER = 4096;

/**
 * In slow start, answers enough to double the rate once a round trip has
 * passed since it last grew, as TCP's slow start doubles per round trip:
 * on a near host (a round trip of a millisecond) waiting for
 * {@link GROW_AFTER} answers at a slow first rate is what takes time.
 */
const GROW_PER_ROUND_TRIP_AFTER = 8;

/** Options of {@link RateController}. */
export interface RateControlOptions {
  /** --min-rate (0 = none). */
  minRate: number;
  /** --max-rate (0 = {@link DEFAULT_MAX_RATE}). */
  maxRate: number;
  /** Starting rate; {@link DEFAULT_INITIAL_RATE} when omitted. */
  initialRate?: number;
}

interface Band {
  ok: number;
  lost: number;
}

/** Paces probes, probes/s, from measured loss per rate band and receiver overload. */
export class RateController {
  #rate: number;
  #min: number;
  #max: number;
  #ceiling: number;
  #slowStart = true;
  #sentAtRate = 0;
  #answeredAtRate = 0;
  #bands = new Map<number, Band>();
  #holdUntil = -Infinity;
  #backoffs = 0;
  #peak: number;
  #ok = 0;
  #lost = 0;
  #growthHeld = false;
  /** Smoothed round trip, ms (Infinity until told). */
  #roundTrip = Infinity;
  #grownAt = -Infinity;

  constructor(options: RateControlOptions) {
    this.#min = Math.max(0, options.minRate);
    this.#max = options.maxRate > 0 ? options.maxRate : Math.max(DEFAULT_MAX_RATE, this.#min);
    this.#ceiling = this.#max;
    const initial = options.initialRate ?? DEFAULT_INITIAL_RATE;
    this.#rate = this.#clamp(initial);
    this.#peak = this.#rate;
  }

  /** Probes per second allowed now. */
  get rate(): number {
    return this.#rate;
  }

  /** Highest rate reached. */
  get peak(): number {
    return this.#peak;
  }

  /** Times the rate was cut. */
  get backoffs(): number {
    return this.#backoffs;
  }

  /** Measured fraction of tries lost among probes that were answered. */
  get lossRate(): number {
    const total = this.#ok + this.#lost;
    return total === 0 ? 0 : this.#lost / total;
  }

  /** Loss measured in the band of `rate`, or undefined with too few samples. */
  bandLoss(rate: number): number | undefined {
    const band = this.#bands.get(bandOf(rate));
    if (band === undefined || band.ok + band.lost < MIN_SAMPLES) return undefined;
    return band.lost / (band.ok + band.lost);
  }

  /** `count` probes were sent at the current rate. */
  sent(count: number): void {
    this.#sentAtRate += count;
    if (this.#sentAtRate >= GROW_BLIND_AFTER) this.#grow();
  }

  #grow(now = -Infinity): void {
    if (this.#growthHeld) return;
    this.#sentAtRate = 0;
    this.#answeredAtRate = 0;
    this.#grownAt = now;
    if (this.#slowStart) {
      this.#setRate(this.#rate * 2);
    } else {
      // Past a cut: creep up, and let the ceiling creep too, to find the path again.
      this.#ceiling = Math.min(this.#max, this.#ceiling * 1.01);
      this.#setRate(this.#rate * 1.05);
    }
  }

  /**
   * A probe's try sent at `rateAtSend` was answered; when an earlier try of it
   * (sent at `lostAtRate`) was not, that try was lost.
   */
  answered(rateAtSend: number, lostAtRate: number | undefined, now: number): void {
    this.#band(rateAtSend).ok++;
    this.#ok++;
    if (lostAtRate === undefined) {
      // Answers to probes sent at about the current rate clock its growth.
      if (rateAtSend < this.#rate / 2) return;
      const answers = ++this.#answeredAtRate;
      if (
        answers >= GROW_AFTER ||
        (this.#slowStart && answers >= GROW_PER_ROUND_TRIP_AFTER &&
          now - this.#grownAt >= this.#roundTrip)
      ) {
        this.#grow(now);
      }
      return;
    }
    this.#band(lostAtRate).lost++;
    this.#lost++;
    if (now < this.#holdUntil) return;
    const loss = this.bandLoss(lostAtRate);
    if (loss === undefined || this.#band(lostAtRate).lost < 8) return;
    // The loss of the best-measured slower band is the path's own.
    let base: number | undefined;
    for (const [level, band] of this.#bands) {
      if (level >= bandOf(lostAtRate) || band.ok + band.lost < MIN_SAMPLES) continue;
      const bandLoss = band.lost / (band.ok + band.lost);
      if (base === undefined || bandLoss < base) base = bandLoss;
    }
    const limit = base === undefined ? 0.1 : Math.max(2 * base + 0.02, 0.05);
    if (loss > limit) this.#cut(lostAtRate, now);
  }

  /** The receiver dropped packets: overload, whatever the loss says. */
  overload(now: number): void {
    if (now < this.#holdUntil) return;
    this.#cut(this.#rate, now);
  }

  /** The path's smoothed round trip, ms, for growth once per round trip in slow start. */
  roundTrip(ms: number): void {
    if (ms > 0) this.#roundTrip = ms;
  }

  /** Queueing delay grew: stop growing (true) or allow growth again (false). */
  holdGrowth(hold: boolean): void {
    this.#growthHeld = hold;
  }

  /** Hold off further cuts until `until` (the losses already in flight are old news). */
  settle(until: number): void {
    this.#holdUntil = Math.max(this.#holdUntil, until);
  }

  #cut(atRate: number, now: number): void {
    this.#slowStart = false;
    this.#ceiling = Math.max(this.#min, Math.min(this.#ceiling, atRate * 0.75));
    this.#setRate(Math.min(this.#rate, atRate) / 2);
    this.#backoffs++;
    // Bands at and above the cut describe a path we no longer drive that hard.
    const level = bandOf(this.#rate);
    for (const key of [...this.#bands.keys()]) if (key > level) this.#bands.delete(key);
    this.#holdUntil = Math.max(this.#holdUntil, now + 250);
  }

  #band(rate: number): Band {
    const level = bandOf(rate);
    let band = this.#bands.get(level);
    if (band === undefined) {
      band = { ok: 0, lost: 0 };
      this.#bands.set(level, band);
    }
    return band;
  }

  #setRate(rate: number): void {
    this.#rate = this.#clamp(Math.min(rate, this.#ceiling));
    if (this.#rate > this.#peak) this.#peak = this.#rate;
  }

  #clamp(rate: number): number {
    return Math.min(this.#max, Math.max(this.#min, 1, rate));
  }
}

function bandOf(rate: number): number {
  return Math.floor(Math.log2(Math.max(1, rate)));
}

/**
 * Past this many hosts a scan is a sweep across a network, not a look at a
 * few machines: its default ceiling is {@link SWEEP_RATE}.
 */
export const SWEEP_HOSTS = 256;

/**
 * Default ceiling of a sweep, probes/s: ZMap's default of 10 Mbit/s in
 * minimum-size Ethernet frames (84 bytes on the wire with preamble and gap).
 * Loss tells the rate controller nothing until a firewall's or NAT's state
 * table, or a WAN link, is already full; across networks we do not own the
 * tools users know start low too (masscan 100/s, naabu 1,000/s).
 */
export const SWEEP_RATE = 14_880;

/** The ceiling a scan runs under, and why. */
export interface RateCeiling {
  /** Probes/s at most (0: the adaptive controller's own maximum). */
  maxRate: number;
  /** Why it is what it is, for stderr and -v; undefined when nothing was capped. */
  notice?: string;
}

/**
 * `value` with its thousands grouped by commas ("65,536"), as en-US writes
 * them, without `toLocaleString`, which loads ICU's locale data (~5 MB).
 */
export function groupDigits(value: number | bigint): string {
  const [whole = "", fraction] = String(value).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+$)/g, ",");
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

/**
 * The default ceiling for a scan of `hosts` hosts. Up to {@link SWEEP_HOSTS}
 * hosts, the adaptive controller alone (as fast as the path allows); across
 * more, {@link SWEEP_RATE} unless --max-rate or -T5 lifted it. A --min-rate
 * above the sweep ceiling raises it (and says so), never silently.
 */
export function rateCeiling(
  hosts: bigint,
  timing: Pick<Timing, "level" | "minRate" | "maxRate">,
): RateCeiling {
  if (timing.maxRate > 0 || timing.level >= 5 || hosts <= BigInt(SWEEP_HOSTS)) {
    return { maxRate: timing.maxRate };
  }
  const count = groupDigits(hosts);
  if (timing.minRate > SWEEP_RATE) {
    const rate = groupDigits(timing.minRate);
    return {
      maxRate: timing.minRate,
      notice:
        `sweeping ${count} hosts at ${rate} probes/s: --min-rate is above the sweep ceiling of ${
          groupDigits(SWEEP_RATE)
        }; --max-rate to set one`,
    };
  }
  return {
    maxRate: SWEEP_RATE,
    notice: `sweeping ${count} hosts at up to ${
      groupDigits(SWEEP_RATE)
    } probes/s; --max-rate to change`,
  };
}

/** Buckets of {@link SendMeter}: ten of 100 ms make its one-second window. */
const METER_BUCKETS = 10;
const METER_BUCKET_MS = 100;

/**
 * The send rate actually reached: the most probes sent within any one-second
 * window (in steps of 100 ms), as a sweep's ceiling is checked against.
 */
export class SendMeter {
  #counts = new Float64Array(METER_BUCKETS);
  #bucket = -1;
  #window = 0;
  #peak = 0;

  /** Probes/s: the fullest one-second window so far. */
  get peak(): number {
    return this.#peak;
  }

  /** `count` probes went out at `now` (ms). */
  sent(count: number, now: number): void {
    if (count <= 0) return;
    const bucket = Math.floor(now / METER_BUCKET_MS);
    if (bucket !== this.#bucket) {
      // Buckets that passed without sends, and those now out of the window, are emptied.
      const steps = this.#bucket < 0
        ? METER_BUCKETS
        : Math.min(METER_BUCKETS, bucket - this.#bucket);
      for (let i = 1; i <= steps; i++) {
        const at = (((this.#bucket + i) % METER_BUCKETS) + METER_BUCKETS) % METER_BUCKETS;
        this.#window -= this.#counts[at]!;
        this.#counts[at] = 0;
      }
      this.#bucket = bucket;
    }
    this.#counts[((bucket % METER_BUCKETS) + METER_BUCKETS) % METER_BUCKETS]! += count;
    this.#window += count;
    if (this.#window > this.#peak) this.#peak = this.#window;
  }
}
