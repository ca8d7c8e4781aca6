import assert from "node:assert/strict";
import { createProgress, estimate, formatDuration, formatProgress } from "./progress.ts";

Deno.test("estimate computes percent, rate and time left", () => {
  assert.deepEqual(estimate(250, 1000, 5000), { percent: 25, rate: 50, etaMs: 15000 });
  assert.deepEqual(estimate(1000, 1000, 2000), { percent: 100, rate: 500, etaMs: 0 });
  assert.deepEqual(estimate(0, 1000, 3000), { percent: 0, rate: 0, etaMs: undefined });
  assert.deepEqual(estimate(10, 100, 0), { percent: 10, rate: 0, etaMs: undefined });
  assert.deepEqual(estimate(0, 0, 10), { percent: 100, rate: 0, etaMs: 0 });
  // Retries can push done past total; never report more than 100 %.
  assert.deepEqual(estimate(1200, 1000, 1000), { percent: 100, rate: 1000, etaMs: 0 });
});

Deno.test("formatDuration and formatProgress", () => {
  assert.equal(formatDuration(0), "0:00:00");
  assert.equal(formatDuration(1), "0:00:01");
  assert.equal(formatDuration(3_723_000), "1:02:03");
  assert.equal(
    formatProgress(250, 1000, 5000),
    "25.0% done (250/1000 probes, 50 probes/s, ETA 0:00:15)",
  );
  assert.equal(formatProgress(0, 1000, 5000), "0.0% done (0/1000 probes, 0 probes/s, ETA ?)");
});

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 10_000;
  return { now: () => time, advance: (ms) => (time += ms) };
}

Deno.test("progress writes nothing when not a terminal", () => {
  const written: string[] = [];
  const clock = fakeClock();
  const progress = createProgress({
    write: (t) => written.push(t),
    isTerminal: false,
    now: clock.now,
  });
  for (let i = 1; i <= 10; i++) {
    clock.advance(1000);
    progress.update(i, 10);
  }
  progress.stop();
  assert.deepEqual(written, []);
});

Deno.test("progress waits minDelayMs, then redraws at most every 250 ms, and clears on stop", () => {
  const written: string[] = [];
  const clock = fakeClock();
  const progress = createProgress({
    write: (t) => written.push(t),
    isTerminal: true,
    now: clock.now,
  });
  clock.advance(1000);
  progress.update(10, 100);
  assert.deepEqual(written, [], "quiet during the first second");
  clock.advance(1000);
  progress.update(20, 100);
  assert.deepEqual(written, ["\r\x1b[K20.0% done (20/100 probes, 10 probes/s, ETA 0:00:08)"]);
  clock.advance(100);
  progress.update(21, 100);
  assert.equal(written.length, 1, "no redraw within 250 ms");
  clock.advance(150);
  progress.update(22, 100);
  assert.equal(written.length, 2);
  progress.stop();
  assert.equal(written.at(-1), "\r\x1b[K");
  clock.advance(1000);
  progress.update(30, 100);
  progress.stop();
  assert.equal(written.length, 3, "silent after stop");
});

Deno.test("progress stop writes nothing if nothing was drawn", () => {
  const written: string[] = [];
  const clock = fakeClock();
  const progress = createProgress({
    write: (t) => written.push(t),
    isTerminal: true,
    now: clock.now,
    minDelayMs: 5000,
  });
  clock.advance(4000);
  progress.update(1, 2);
  progress.stop();
  assert.deepEqual(written, []);
});
