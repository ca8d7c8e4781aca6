/**
 * A one-line progress meter for terminals.
 *
 * @module
 */

/** Progress figures derived from counts and elapsed time. */
export interface Estimate {
  /** 0–100. */
  percent: number;
  /** Probes per second so far. */
  rate: number;
  /** Milliseconds until done at the current rate; undefined before any probe finished. */
  etaMs: number | undefined;
}

/**
 * Percentage, rate and time left of a scan.
 *
 * @example
 * ```ts
 * import { estimate } from "./progress.ts";
 * estimate(250, 1000, 5000); // { percent: 25, rate: 50, etaMs: 15000 }
 * ```
 */
export function estimate(done: number, total: number, elapsedMs: number): Estimate {
  const finished = Math.min(Math.max(done, 0), Math.max(total, 0));
  const percent = total > 0 ? (finished / total) * 100 : 100;
  const rate = elapsedMs > 0 ? finished / (elapsedMs / 1000) : 0;
  const left = Math.max(total, 0) - finished;
  const etaMs = left === 0 ? 0 : rate > 0 ? (left / rate) * 1000 : undefined;
  return { percent, rate, etaMs };
}

/** h:mm:ss, rounded up so that "0:00:00" only shows at the end. */
export function formatDuration(ms: number): string {
  const total = Math.ceil(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  return `${hours}:${String(minutes).padStart(2, "0")}:${String(seconds).padStart(2, "0")}`;
}

/** The text of the progress line. */
export function formatProgress(done: number, total: number, elapsedMs: number): string {
  const { percent, rate, etaMs } = estimate(done, total, elapsedMs);
  const eta = etaMs === undefined ? "?" : formatDuration(etaMs);
  return `${percent.toFixed(1)}% done (${done}/${total} probes, ` +
    `${Math.round(rate)} probes/s, ETA ${eta})`;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Where the line goes (stderr). */
  write: (text: string) => void;
  /** Draw only when true. */
  isTerminal: boolean;
  /** Clock in ms; `performance.now` by default. */
  now?: () => number;
  /** Stay quiet for scans shorter than this, ms. Default 1000. */
  minDelayMs?: number;
}

/** A progress meter. */
export interface Progress {
  /** Report probes finished of total; redraws at most about 4 times a second. */
  update(done: number, total: number): void;
  /**
   * A new phase ("Connect Scan", "Service scan"): its name heads the line,
   * and its rate is learned afresh.
   */
  phase(name: string): void;
  /** Write `text` (whole lines) on a line of its own: the progress line is cleared first. */
  log(text: string): void;
  /** Clear the progress line, if drawn, before something else writes to the terminal. */
  clear(): void;
  /**
   * nmap's `--stats-every` lines for where the scan is now (ETC as local
   * wall time), `hosts` the hosts the phase covers.
   */
  stats(wallClock?: Date, hosts?: number): string;
  /** Clear the line. */
  stop(): void;
}

const REDRAW_MS = 250;
const CLEAR_LINE = "\r\x1b[K";
/** Rate samples are taken at least this far apart, ms. */
const SAMPLE_MS = 250;
/** Time constant of the learned rate, ms: older rates weigh e^(-age/τ). */
const RATE_TAU_MS = 15_000;

/**
 * A rate that learns from what was achieved: an exponentially weighted
 * average of the rates measured between samples, so a scan that slows down
 * (retries against a lossy host, a long tail of timeouts) lengthens its ETA
 * within seconds, where the average since the start would take minutes.
 */
export class LearnedRate {
  #lastAt: number;
  #lastDone = 0;
  #rate: number | undefined;

  constructor(startAt: number) {
    this.#lastAt = startAt;
  }

  /** Record `done` at time `at` (ms); ignored until {@link SAMPLE_MS} has passed. */
  sample(done: number, at: number): void {
    const dt = at - this.#lastAt;
    if (dt < SAMPLE_MS) return;
    const measured = Math.max(0, done - this.#lastDone) / (dt / 1000);
    const weight = 1 - Math.exp(-dt / RATE_TAU_MS);
    this.#rate = this.#rate === undefined
      ? measured
      : this.#rate + weight * (measured - this.#rate);
    this.#lastAt = at;
    this.#lastDone = done;
  }

  /** Units per second; undefined before the first sample. */
  get rate(): number | undefined {
    return this.#rate;
  }
}

/**
 * Percentage, learned rate and time left; before any rate is learned, the
 * average since `elapsedMs` ago.
 */
export function learnedEstimate(
  done: number,
  total: number,
  context: { elapsedMs: number; rate: number | undefined },
): Estimate {
  const plain = estimate(done, total, context.elapsedMs);
  if (context.rate === undefined || plain.etaMs === 0) return plain;
  const left = Math.max(total, 0) - Math.min(Math.max(done, 0), Math.max(total, 0));
  const rate = context.rate;
  return { percent: plain.percent, rate, etaMs: rate > 0 ? (left / rate) * 1000 : undefined };
}

function lineText(
  name: string | undefined,
  done: number,
  total: number,
  figures: Estimate,
): string {
  const eta = figures.etaMs === undefined ? "?" : formatDuration(figures.etaMs);
  const unit = name === "Service scan" ? "services" : "probes";
  return `${name === undefined ? "" : `${name}: `}${figures.percent.toFixed(1)}% done ` +
    `(${done}/${total} ${unit}, ${Math.round(figures.rate)} ${unit}/s, ETA ${eta})`;
}

/** Local wall time as nmap shows it ("at 12:24", "ETC: 12:30"): HH:MM. */
export function clockText(date: Date): string {
  return `${String(date.getHours()).padStart(2, "0")}:${
    String(date.getMinutes()).padStart(2, "0")
  }`;
}

/**
 * Create a progress meter that redraws one line in place.
 *
 * @example
 * ```ts
 * import { createProgress } from "./progress.ts";
 * const encoder = new TextEncoder();
 * const progress = createProgress({
 *   write: (text) => Deno.stderr.writeSync(encoder.encode(text)),
 *   isTerminal: Deno.stderr.isTerminal(),
 * });
 * progress.update(10, 100);
 * progress.stop();
 * ```
 */
export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? (() => performance.now());
  const minDelay = options.minDelayMs ?? 1000;
  const started = now();
  let phaseStarted = started;
  let phaseName: string | undefined;
  let learned = new LearnedRate(started);
  let last = { done: 0, total: 0 };
  let lastDraw: number | undefined;
  let drawn = false;
  let stopped = false;

  const figures = (time: number): Estimate =>
    learnedEstimate(last.done, last.total, {
      elapsedMs: time - phaseStarted,
      rate: learned.rate,
    });
  const clear = (): void => {
    if (drawn) options.write(CLEAR_LINE);
    drawn = false;
  };

  return {
    update(done: number, total: number): void {
      if (stopped) return;
      const time = now();
      last = { done, total };
      learned.sample(done, time);
      if (!options.isTerminal) return;
      if (time - started <= minDelay) return;
      if (lastDraw !== undefined && time - lastDraw < REDRAW_MS) return;
      lastDraw = time;
      drawn = true;
      options.write(`${CLEAR_LINE}${lineText(phaseName, done, total, figures(time))}`);
    },
    phase(name: string): void {
      phaseName = name;
      phaseStarted = now();
      learned = new LearnedRate(phaseStarted);
      last = { done: 0, total: 0 };
    },
    log(text: string): void {
      clear();
      options.write(text);
    },
    clear,
    stats(wallClock: Date = new Date(), hosts?: number): string {
      const time = now();
      const name = phaseName ?? "Scan";
      // Before the phase's first count nothing is known: not "100 % of 0".
      const { percent, etaMs } = last.total > 0 ? figures(time) : { percent: 0, etaMs: undefined };
      const left = etaMs === undefined ? "?" : formatDuration(etaMs);
      const etc = etaMs === undefined ? "?" : clockText(new Date(wallClock.getTime() + etaMs));
      const undergoing = hosts === undefined
        ? `undergoing ${name}`
        : `0 hosts completed (${hosts} up), ${hosts} undergoing ${name}`;
      // Elapsed time counts whole seconds gone, as nmap's does.
      const elapsed = formatDuration(Math.floor((time - started) / 1000) * 1000);
      return `Stats: ${elapsed} elapsed; ${undergoing}\n` +
        `${name} Timing: About ${percent.toFixed(2)}% done; ETC: ${etc} (${left} remaining)\n`;
    },
    stop(): void {
      if (stopped) return;
      stopped = true;
      clear();
    },
  };
}
