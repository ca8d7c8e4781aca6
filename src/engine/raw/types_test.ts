import assert from "node:assert/strict";
import { REASONS, ReplyKind, type ReplyRecord, ReplyRing } from "./types.ts";

function record(address: number | bigint, port: number, reason = "reset"): ReplyRecord {
  return {
    kind: ReplyKind.Reset,
    family: typeof address === "number" ? 4 : 6,
    address,
    port,
    protocol: 6,
    attempt: 2,
    ttl: 63,
    at: 1_700_000_000_123.25,
    reason,
    fromTarget: true,
  };
}

Deno.test("the reply ring carries IPv4 and IPv6 records intact", () => {
  const ring = ReplyRing.create(8);
  const v6 = (0x20010db8n << 96n) | 0xfedcba9876543210n;
  const sent = [record(0xc6336402, 80), {
    ...record(v6, 443, "admin-prohibited"),
    // An ARP / ND reply's MAC: all 48 bits survive the ring.
    mac: 0xfe_dc_ba_98_76_54,
  }, {
    ...record(1, 1, "no-such-reason"),
    fromTarget: false,
  }];
  for (const item of sent) assert.ok(ring.push(item));
  assert.ok(ring.pending);
  const got = ring.drain();
  assert.deepEqual(got.slice(0, 2), sent.slice(0, 2));
  assert.equal(got[2]!.reason, "unknown-response");
  assert.equal(got[2]!.fromTarget, false);
  assert.equal(ring.pending, false);
});

Deno.test("a full ring refuses and counts, then takes more once drained", () => {
  const ring = ReplyRing.create(4);
  for (let i = 0; i < 4; i++) assert.ok(ring.push(record(i, i)));
  assert.equal(ring.push(record(9, 9)), false);
  assert.equal(ring.counters.overflows, 1);
  assert.deepEqual(ring.drain().map((item) => item.port), [0, 1, 2, 3]);
  for (let round = 0; round < 10; round++) {
    assert.ok(ring.push(record(round, round)));
    assert.deepEqual(ring.drain().map((item) => item.port), [round]);
  }
});

Deno.test("reason codes are unique", () => {
  assert.equal(new Set(REASONS).size, REASONS.length);
});
