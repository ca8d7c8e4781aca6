import assert from "node:assert/strict";
import { CongestionWindow, RateLimiter, RttEstimator, timingTemplate } from "./timing.ts";

Deno.test("timing templates follow nmap's -T values", () => {
  const t4 = timingTemplate(4);
  assert.equal(t4.initialRttTimeout, 500);
  assert.equal(t4.maxRttTimeout, 1250);
  assert.equal(t4.minRttTimeout, 100);
  assert.equal(t4.maxRetries, 6);
  const t5 = timingTemplate(5);
  assert.equal(t5.maxRttTimeout, 300);
  assert.equal(t5.maxRetries, 2);
  assert.equal(timingTemplate(3).maxRetries, 10);
  assert.equal(timingTemplate(0).maxParallelism, 1);
  assert.ok(timingTemplate(1).scanDelay > timingTemplate(2).scanDelay);
});

Deno.test("RTT estimator: first sample, then RFC 6298 smoothing", () => {
  const rtt = new RttEstimator({ ...timingTemplate(3), minRttTimeout: 0 });
  assert.equal(rtt.timeout(), 1000, "initial timeout before any sample");
  rtt.sample(100);
  assert.equal(rtt.srtt, 100);
  assert.equal(rtt.rttvar, 50);
  assert.equal(rtt.timeout(), 100 + 4 * 50);
  rtt.sample(200);
  // rttvar = 3/4·50 + 1/4·|100-200| = 62.5; srtt = 7/8·100 + 1/8·200 = 112.5
  assert.equal(rtt.rttvar, 62.5);
  assert.equal(rtt.srtt, 112.5);
  assert.equal(rtt.timeout(), 112.5 + 4 * 62.5);
});

Deno.test("RTT estimator clamps the timeout to the template's bounds", () => {
  const rtt = new RttEstimator(timingTemplate(4));
  for (let i = 0; i < 50; i++) rtt.sample(0.05);
  assert.equal(rtt.timeout(), 100, "never below --min-rtt-timeout");
  for (let i = 0; i < 50; i++) rtt.sample(5000);
  assert.equal(rtt.timeout(), 1250, "never above --max-rtt-timeout");
  rtt.sample(Number.NaN);
  rtt.sample(-1);
  assert.equal(rtt.samples, 100, "nonsense samples are ignored");
});

Deno.test("congestion window: slow start, then additive increase", () => {
  const window = new CongestionWindow({ initial: 4, max: 1000 });
  for (let i = 0; i < 4; i++) window.grow();
  assert.equal(window.size, 8, "one more per answer below ssthresh");
  window.shrink(0, 10);
  assert.equal(window.size, 4, "halved on loss");
  const before = window.size;
  let answers = 0;
  while (window.size === before) {
    window.grow();
    answers++;
  }
  assert.equal(window.size, before + 1);
  assert.ok(
    answers >= before && answers <= before + 2,
    `one more per window of answers: ${answers}`,
  );
});

Deno.test("congestion window reacts once per epoch of loss", () => {
  const window = new CongestionWindow({ initial: 64, max: 1000 });
  assert.equal(window.shrink(10, 100), true);
  assert.equal(window.size, 32);
  // Losses of probes sent before the cut belong to the same event.
  assert.equal(window.shrink(50, 120), false);
  assert.equal(window.shrink(99, 130), false);
  assert.equal(window.size, 32);
  assert.equal(window.shrink(100, 140), true, "a probe sent after the cut counts again");
  assert.equal(window.size, 16);
  assert.equal(window.backoffs, 2);
});

Deno.test("congestion window respects its bounds", () => {
  const window = new CongestionWindow({ initial: 10, min: 2, max: 12 });
  for (let i = 0; i < 100; i++) window.grow();
  assert.equal(window.size, 12);
  for (let seq = 0; seq < 10; seq++) window.shrink(seq * 100, seq * 100 + 1);
  assert.equal(window.size, 2);
  window.cap(1);
  assert.equal(window.size, 2, "never below the minimum");
});

Deno.test("rate limiter spaces probes at --max-rate", () => {
  const limiter = new RateLimiter(100, 0);
  assert.equal(limiter.delay(0), 0);
  limiter.take(0);
  assert.ok(limiter.delay(0) > 0, "the second probe must wait");
  assert.equal(limiter.delay(10), 0, "10 ms later, at 100/s, one more may go");
  // Over one simulated second no more than ~100 (+ the small burst) go out.
  let sent = 0;
  for (let now = 10; now < 1010; now += 0.5) {
    while (limiter.delay(now) === 0) {
      limiter.take(now);
      sent++;
    }
  }
  assert.ok(sent >= 99 && sent <= 102, `sent ${sent}`);
  const unlimited = new RateLimiter(0, 0);
  for (let i = 0; i < 1000; i++) unlimited.take(0);
  assert.equal(unlimited.delay(0), 0);
});

Deno.test("congestion window eases off when a quarter of it sits in queues", () => {
  const window = new CongestionWindow({ initial: 512, max: 8192 });
  window.queueing(10);
  assert.equal(window.size, 512, "a small queue is left alone");
  window.queueing(400);
  assert.equal(window.size, 448, "an eighth less");
  for (let i = 0; i < 1000; i++) window.queueing(window.size);
  assert.ok(window.size >= 56 && window.size <= 64, `down to about 64: ${window.size}`);
  // Queueing ends slow start: growth is additive afterwards.
  const before = window.size;
  for (let i = 0; i < 10; i++) window.grow();
  assert.equal(window.size, before);
});
