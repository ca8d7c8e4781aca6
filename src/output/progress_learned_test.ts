import assert from "node:assert/strict";
import { createProgress, estimate, learnedEstimate, LearnedRate } from "./progress.ts";

Deno.test("the learned rate follows a scan that slows down; the average since the start does not", () => {
  const total = 10_000;
  const learned = new LearnedRate(0);
  let done = 0;
  let time = 0;
  // 10 s at 500 probes/s, then 60 s at 20 probes/s (retries against a lossy, far host).
  for (; time < 10_000;) {
    time += 500;
    done += 250;
    learned.sample(done, time);
  }
  assert.equal(Math.round(learned.rate ?? 0), 500);
  for (; time < 70_000;) {
    time += 500;
    done += 10;
    learned.sample(done, time);
  }
  const plain = estimate(done, total, time);
  const now = learnedEstimate(done, total, { elapsedMs: time, rate: learned.rate });
  const truth = ((total - done) / 20) * 1000;
  assert.ok(plain.etaMs !== undefined && now.etaMs !== undefined);
  assert.ok(now.etaMs > 2 * plain.etaMs, `learned ${now.etaMs} vs average ${plain.etaMs}`);
  // Within half of the truth after 4 time constants (the fast start still weighs a little).
  assert.ok(Math.abs(now.etaMs - truth) < truth * 0.5, `learned ${now.etaMs} vs true ${truth}`);
});

Deno.test("samples closer than 250 ms are ignored; before any, the average stands in", () => {
  const learned = new LearnedRate(0);
  learned.sample(10, 100);
  assert.equal(learned.rate, undefined);
  assert.deepEqual(
    learnedEstimate(10, 100, { elapsedMs: 1000, rate: learned.rate }),
    estimate(10, 100, 1000),
  );
  learned.sample(100, 1000);
  assert.equal(learned.rate, 100);
});

Deno.test("the line names its phase, and a log line never shares the progress line", () => {
  const written: string[] = [];
  let time = 0;
  const progress = createProgress({
    write: (t) => written.push(t),
    isTerminal: true,
    now: () => time,
  });
  progress.phase("Service scan");
  time = 2000;
  progress.update(1, 4);
  assert.equal(
    written.at(-1),
    "\r\x1b[KService scan: 25.0% done (1/4 services, 1 services/s, ETA 0:00:06)",
  );
  progress.log("portolan: connect/epoll: 3 probes\n");
  assert.deepEqual(written.slice(-2), ["\r\x1b[K", "portolan: connect/epoll: 3 probes\n"]);
  progress.log("again\n");
  assert.equal(written.at(-1), "again\n", "nothing to clear: no progress drawn since");
  progress.clear();
  assert.equal(written.at(-1), "again\n");
});

Deno.test("--stats-every lines in nmap's layout, 0 % before the phase counts anything", () => {
  let time = 0;
  const progress = createProgress({ write: () => {}, isTerminal: false, now: () => time });
  progress.phase("Connect Scan");
  const wall = new Date(2026, 11, 3, 12, 24, 0);
  assert.equal(
    progress.stats(wall, 1),
    "Stats: 0:00:00 elapsed; 0 hosts completed (1 up), 1 undergoing Connect Scan\n" +
      "Connect Scan Timing: About 0.00% done; ETC: ? (? remaining)\n",
  );
  time = 5500;
  progress.update(250, 1000);
  assert.equal(
    progress.stats(wall, 1),
    "Stats: 0:00:05 elapsed; 0 hosts completed (1 up), 1 undergoing Connect Scan\n" +
      "Connect Scan Timing: About 25.00% done; ETC: 12:24 (0:00:17 remaining)\n",
  );
});
