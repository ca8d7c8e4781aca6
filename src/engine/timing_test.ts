import assert from "node:assert/strict";
import { RttEstimator, timingTemplate } from "./timing.ts";

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
