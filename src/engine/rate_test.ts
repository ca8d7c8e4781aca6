import assert from "node:assert/strict";
import {
  DEFAULT_MAX_RATE,
  groupDigits,
  rateCeiling,
  RateController,
  SendMeter,
  SWEEP_RATE,
} from "./rate.ts";

/** Drive a controller: each probe is answered, its first try lost with `lossAt(rate)`. */
function drive(
  controller: RateController,
  probes: number,
  lossAt: (rate: number) => number,
  random: () => number,
): void {
  for (let i = 0; i < probes; i++) {
    const rate = controller.rate;
    controller.sent(1);
    if (random() < lossAt(rate)) controller.answered(controller.rate, rate, i);
    else controller.answered(rate, undefined, i);
  }
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

Deno.test("rate doubles in slow start up to the maximum", () => {
  const controller = new RateController({ minRate: 0, maxRate: 50_000, initialRate: 1000 });
  drive(controller, 5000, () => 0, seeded(1));
  assert.equal(controller.rate, 50_000);
  assert.equal(controller.backoffs, 0);
});

Deno.test("random loss at every rate never cuts the rate", () => {
  const controller = new RateController({ minRate: 0, maxRate: 0, initialRate: 1000 });
  drive(controller, 200_000, () => 0.02, seeded(2));
  assert.equal(controller.backoffs, 0);
  assert.equal(controller.rate, DEFAULT_MAX_RATE);
  assert.ok(Math.abs(controller.lossRate - 0.02) < 0.005, `loss ${controller.lossRate}`);
});

Deno.test("loss that grows with the rate cuts it below where the loss began", () => {
  const controller = new RateController({ minRate: 0, maxRate: 0, initialRate: 1000 });
  // A path that carries 20 000 probes/s: beyond it, the excess is lost.
  const lossAt = (rate: number): number => 0.01 + Math.max(0, 1 - 20_000 / rate);
  drive(controller, 100_000, lossAt, seeded(3));
  assert.ok(controller.backoffs >= 1);
  assert.ok(controller.rate < 40_000, `rate ${controller.rate}`);
  assert.ok(controller.rate >= 1000, `rate ${controller.rate}`);
});

Deno.test("receiver overload cuts at once, within --min-rate", () => {
  const controller = new RateController({ minRate: 3000, maxRate: 0, initialRate: 8000 });
  controller.overload(0);
  assert.equal(controller.rate, 4000);
  controller.overload(1000);
  assert.equal(controller.rate, 3000);
  assert.equal(controller.backoffs, 2);
});

Deno.test("held growth stays put", () => {
  const controller = new RateController({ minRate: 0, maxRate: 0, initialRate: 1000 });
  controller.holdGrowth(true);
  drive(controller, 10_000, () => 0, seeded(4));
  assert.equal(controller.rate, 1000);
});

Deno.test("without answers the rate grows only after many sends (dark space)", () => {
  const controller = new RateController({ minRate: 0, maxRate: 0, initialRate: 1000 });
  controller.sent(4095);
  assert.equal(controller.rate, 1000);
  controller.sent(1);
  assert.equal(controller.rate, 2000);
});

Deno.test("in slow start the rate doubles once a round trip, given a few answers", () => {
  const controller = new RateController({ minRate: 0, maxRate: 0, initialRate: 1000 });
  controller.roundTrip(5);
  // Eight answers, but within one round trip of the start: one doubling.
  for (let i = 0; i < 8; i++) controller.answered(1000, undefined, 100);
  assert.equal(controller.rate, 2000);
  for (let i = 0; i < 8; i++) controller.answered(2000, undefined, 102);
  assert.equal(controller.rate, 2000);
  // A round trip later, eight more answers double it again.
  for (let i = 0; i < 8; i++) controller.answered(2000, undefined, 105);
  assert.equal(controller.rate, 4000);
  // Past slow start (a cut), growth goes back to creeping.
  controller.overload(200);
  const after = controller.rate;
  for (let i = 0; i < 8; i++) controller.answered(after, undefined, 1000);
  assert.equal(controller.rate, after);
});

Deno.test("sweeps get a default ceiling; few hosts, --max-rate and -T5 do not", () => {
  const t3 = { level: 3, minRate: 0, maxRate: 0 } as const;
  assert.deepEqual(rateCeiling(256n, t3), { maxRate: 0 });
  const sweep = rateCeiling(65_536n, t3);
  assert.equal(sweep.maxRate, SWEEP_RATE);
  assert.equal(
    sweep.notice,
    "sweeping 65,536 hosts at up to 14,880 probes/s; --max-rate to change",
  );
  assert.deepEqual(rateCeiling(65_536n, { ...t3, maxRate: 100_000 }), { maxRate: 100_000 });
  assert.deepEqual(rateCeiling(65_536n, { ...t3, level: 5 }), { maxRate: 0 });
  // --min-rate above the ceiling lifts it, and says so.
  const fast = rateCeiling(65_536n, { ...t3, minRate: 50_000 });
  assert.equal(fast.maxRate, 50_000);
  assert.match(fast.notice ?? "", /--min-rate is above the sweep ceiling of 14,880/);
  // Below it, --min-rate leaves the ceiling alone.
  assert.equal(rateCeiling(65_536n, { ...t3, minRate: 1_000 }).maxRate, SWEEP_RATE);
});

Deno.test("the send meter reports the fullest one-second window", () => {
  const meter = new SendMeter();
  // 1,000 probes/s for three seconds, in 10 ms steps, then a burst of 500 in 100 ms.
  for (let t = 0; t < 3000; t += 10) meter.sent(10, t);
  assert.equal(meter.peak, 1000);
  meter.sent(500, 3050);
  assert.equal(meter.peak, 1000 - 10 * 10 + 500);
  // A long pause empties the window.
  meter.sent(1, 10_000);
  assert.equal(meter.peak, 1400);
});

Deno.test("groupDigits writes numbers as en-US's toLocaleString does", () => {
  for (const value of [0, 7, 999, 1000, 65_536, 100_000, 1_234_567, 16_777_216, 2 ** 53]) {
    assert.equal(groupDigits(value), value.toLocaleString("en-US"));
    assert.equal(groupDigits(BigInt(value)), BigInt(value).toLocaleString("en-US"));
  }
  assert.equal(groupDigits(1500.25), "1,500.25");
});
