import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: not in deno.json, so the scanner never fetches it
import fc from "npm:fast-check@4.11.0";
import { isSilent, type PortResult, type PortState } from "../model/mod.ts";
import { fuzzBudget } from "../testing/fuzz.ts";
import type { Host } from "../targets/types.ts";
import { addressSortKey } from "../targets/sort_key.ts";
import { createReportBuilder, type ReportInfo } from "./report_builder.ts";
import { CompactHosts } from "./host_table.ts";

const INFO: ReportInfo = {
  version: "0.1.0",
  args: ["-p", "1-40", "198.51.100.0/24"],
  scaninfo: [{ type: "syn", protocol: "tcp", numServices: 40, services: "1-40" }],
  start: new Date("2025-01-02T03:04:05.000Z"),
};
const END = new Date("2025-01-02T03:05:05.000Z");

const ADDRESSES = ["198.51.100.7", "198.51.100.2", "2001:db8::5", "198.51.100.30"];
const STATES: PortState[] = [
  "open",
  "closed",
  "closed",
  "closed",
  "filtered",
  "open|filtered",
  "unfiltered",
  "closed|filtered",
];
const REASONS = ["syn-ack", "reset", "reset", "no-response", "port-unreach", "conn-refused"];

function hostOf(address: string): Host {
  const key = addressSortKey(address)!;
  return address.includes(":")
    ? { family: 6, value: key - (1n << 32n), address }
    : { family: 4, value: key, address };
}

const verdict = fc.record({
  host: fc.integer({ min: 0, max: ADDRESSES.length - 1 }),
  protocol: fc.constantFrom("tcp" as const, "tcp" as const, "udp" as const),
  port: fc.integer({ min: 1, max: 45 }),
  state: fc.constantFrom(...STATES),
  reason: fc.constantFrom(...REASONS),
  service: fc.constantFrom(undefined, undefined, undefined, { name: "http" }),
});

const scan = fc.record({
  tcp: fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 40 }),
  udp: fc.option(fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 8 }), {
    nil: undefined,
  }),
  closedListLimit: fc.integer({ min: 0, max: 4 }),
  openOnly: fc.boolean(),
  partial: fc.boolean(),
  verdicts: fc.array(verdict, { maxLength: 120 }),
});

Deno.test("a bounded report is the same whether its hosts are kept compact or as entries", () => {
  fc.assert(
    fc.property(scan, (s) => {
      const options = {
        scanned: {
          tcp: [...s.tcp].sort((a, b) => a - b),
          ...(s.udp !== undefined ? { udp: [...s.udp].sort((a, b) => a - b) } : {}),
        },
        closedListLimit: s.closedListLimit,
        openOnly: s.openOnly,
      };
      const compact = createReportBuilder(INFO, options);
      const entries = createReportBuilder(INFO, options);
      const met = new Set<string>();
      s.verdicts.forEach((v, i) => {
        const address = ADDRESSES[v.host]!;
        const result: PortResult = {
          address,
          protocol: v.protocol,
          port: v.port,
          state: v.state,
          reason: v.reason,
          ...(v.service !== undefined ? { service: v.service } : {}),
        };
        if (i % 2 === 0) compact.addPortOf(result, hostOf(address));
        else compact.addPort(result);
        // A host verdict that says nothing makes the host an entry before its first answer.
        if (!met.has(address) && !isSilent(result)) {
          entries.addHost({ address, hostnames: [], state: "unknown", reason: "" });
          met.add(address);
        }
        entries.addPort(result);
      });
      const stats = { probes: s.verdicts.length, retries: 0 };
      assert.deepEqual(compact.snapshot(), entries.snapshot());
      assert.deepEqual(
        compact.finish(stats, END, { partial: s.partial }),
        entries.finish(stats, END, { partial: s.partial }),
      );
    }),
    fuzzBudget(20_000, 1302),
  );
});

Deno.test("a compact host becomes an entry when it needs more, keeping what it had", () => {
  const options = { scanned: { tcp: [21, 22, 80, 443] }, closedListLimit: 0 };
  const builder = createReportBuilder(INFO, options);
  const address = "198.51.100.9";
  builder.addPort({ address, protocol: "tcp", port: 22, state: "closed", reason: "reset" });
  builder.addPort({ address, protocol: "tcp", port: 80, state: "open", reason: "syn-ack" });
  // A second closed reason does not fit the row.
  builder.addPort({ address, protocol: "tcp", port: 443, state: "closed", reason: "conn-refused" });
  builder.addHost({ address, hostnames: ["web.example"], state: "up", reason: "echo-reply" });
  const host = builder.finish({ probes: 4, retries: 0 }, END).hosts[0]!;
  assert.deepEqual(host.hostnames, ["web.example"]);
  assert.equal(host.reason, "echo-reply");
  assert.deepEqual(host.ports.map((p) => `${p.port}/${p.state}`), ["21/filtered", "80/open"]);
  assert.deepEqual(host.extraports, [
    {
      state: "closed",
      count: 2,
      reasons: [{ reason: "conn-refused", count: 1 }, { reason: "reset", count: 1 }],
    },
  ]);
});

Deno.test("compact rows keep closed counts, the first answer and the heard bits", () => {
  const tcp = Array.from({ length: 40 }, (_, i) => 100 + i);
  const indexOf = new Int32Array(65536).fill(-1);
  tcp.forEach((port, i) => (indexOf[port] = i));
  const table = new CompactHosts({
    count: { tcp: 40, udp: 0 },
    indexOf: { tcp: indexOf, udp: undefined },
  });
  const id = table.create("198.51.100.3", 0xc6336403, 0xc6336403n)!;
  assert.equal(table.id(0xc6336403), id);
  assert.equal(table.id(0xc6336404), -1);
  const closed = (port: number): PortResult => ({
    address: "198.51.100.3",
    protocol: "tcp",
    port,
    state: "closed",
    reason: "reset",
  });
  assert.ok(table.add(id, closed(139), true));
  assert.ok(table.add(id, closed(100), true));
  assert.ok(!table.add(id, { ...closed(101), reason: "conn-refused" }, true));
  assert.ok(!table.add(id, { ...closed(102), service: { name: "x" } }, true));
  const open: PortResult = { ...closed(120), state: "open", reason: "syn-ack" };
  assert.ok(table.add(id, open, true));
  const host = table.entry(id);
  assert.equal(host.answer, "reset");
  assert.deepEqual(host.answered, { tcp: 3, udp: 0 });
  assert.equal(host.states.get("closed")?.count, 2);
  assert.deepEqual(host.states.get("open")?.listed, [open]);
  const bits = host.heard.tcp as Uint8Array;
  assert.deepEqual([...bits], [1, 0, 1 << 4, 0, 1 << 7]);
  assert.equal(table.take(id).address, "198.51.100.3");
  assert.equal(table.size, 0);
  assert.equal(table.id(0xc6336403), -1);
  assert.deepEqual([...table.rows()], []);
});

Deno.test("a sweep's hosts share one closed-port summary in the report", () => {
  const scanned = { tcp: Array.from({ length: 16 }, (_, i) => 80 + i) };
  const builder = createReportBuilder(INFO, { scanned, closedListLimit: 0 });
  for (let h = 1; h <= 3; h++) {
    const address = `198.51.100.${h}`;
    for (const port of scanned.tcp) {
      builder.addPortOf(
        { address, protocol: "tcp", port, state: port === 80 ? "open" : "closed", reason: "reset" },
        hostOf(address),
      );
    }
  }
  const hosts = builder.finish({ probes: 48, retries: 0 }, END).hosts;
  assert.deepEqual(hosts[0]!.extraports, [
    {
      state: "closed",
      count: 15,
      reasons: [{ reason: "reset", count: 15, protocol: "tcp", ports: "81-95" }],
    },
  ]);
  assert.equal(hosts[1]!.extraports[0], hosts[0]!.extraports[0]);
  assert.equal(hosts[2]!.extraports[0], hosts[0]!.extraports[0]);
});
