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
  /** Clear the line. */
  stop(): void;
}

const REDRAW_MS = 250;
const CLEAR_LINE = "\r\x1b[K";

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
  let lastDraw: number | undefined;
  let stopped = false;

  return {
    update(done: number, total: number): void {
      if (!options.isTerminal || stopped) return;
      const time = now();
      const elapsed = time - started;
      if (elapsed <= minDelay) return;
      if (lastDraw !== undefined && time - lastDraw < REDRAW_MS) return;
      lastDraw = time;
      options.write(`${CLEAR_LINE}${formatProgress(done, total, elapsed)}`);
    },
    stop(): void {
      if (stopped) return;
      stopped = true;
      if (lastDraw !== undefined) options.write(CLEAR_LINE);
    },
  };
}
