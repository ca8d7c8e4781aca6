import assert from "node:assert/strict";
import type { PortResult, PortState } from "../model/mod.ts";
import { createReportBuilder, type ReportInfo } from "./report_builder.ts";

const START = new Date("2025-01-02T03:04:05.000Z");
const INFO: ReportInfo = {
  version: "0.1.0",
  args: ["-p-", "198.51.100.0/24"],
  scaninfo: [{ type: "connect", protocol: "tcp", numServices: 65535, services: "1-65535" }],
  start: START,
};

function port(address: string, p: number, state: PortState, reason: string): PortResult {
  return { address, protocol: "tcp", port: p, state, reason };
}

Deno.test("report builder lists closed ports while at most closedListLimit", () => {
  const builder = createReportBuilder(INFO, { closedListLimit: 3 });
  for (const p of [30, 10, 20]) builder.addPort(port("198.51.100.2", p, "closed", "conn-refused"));
  builder.addPort(port("198.51.100.2", 22, "open", "syn-ack"));
  const host = builder.finish({ probes: 4, retries: 0 }, START).hosts[0];
  assert.ok(host);
  assert.deepEqual(host.ports.map((p) => [p.port, p.state]), [
    [10, "closed"],
    [20, "closed"],
    [22, "open"],
    [30, "closed"],
  ]);
  assert.deepEqual(host.extraports, []);
});

Deno.test("report builder counts closed ports with reasons beyond closedListLimit", () => {
  const builder = createReportBuilder(INFO, { closedListLimit: 3 });
  for (let p = 1; p <= 3; p++) builder.addPort(port("198.51.100.2", p, "closed", "conn-refused"));
  builder.addPort(port("198.51.100.2", 4, "closed", "reset"));
  builder.addPort(port("198.51.100.2", 80, "open", "syn-ack"));
  const host = builder.finish({ probes: 5, retries: 0 }, START).hosts[0];
  assert.ok(host);
  assert.deepEqual(host.ports.map((p) => p.port), [80]);
  assert.deepEqual(host.extraports, [{
    state: "closed",
    count: 4,
    reasons: [
      { reason: "conn-refused", count: 3, protocol: "tcp", ports: "1-3" },
      { reason: "reset", count: 1, protocol: "tcp", ports: "4" },
    ],
  }]);
});

Deno.test("report builder keeps counted ports as ranges, in any order, up to a bound", () => {
  const builder = createReportBuilder(INFO, { closedListLimit: 0 });
  for (const p of [9, 3, 5, 4, 1, 10, 7, 2, 8, 6, 20]) {
    builder.addPort(port("198.51.100.2", p, "closed", "reset"));
  }
  // Every port but 7, in an order that fragments them into thousands of ranges first.
  const order = Array.from({ length: 65535 }, (_, i) => ((i * 7919) % 65535) + 1);
  for (const p of order) if (p !== 7) builder.addPort(port("198.51.100.3", p, "closed", "x"));
  // One reason met over two protocols: its ports are only counted.
  builder.addPort(port("198.51.100.2", 30, "closed", "y"));
  builder.addPort({ ...port("198.51.100.2", 31, "closed", "y"), protocol: "udp" });
  const [host, full] = builder.finish({ probes: 1, retries: 0 }, START).hosts;
  assert.deepEqual(host?.extraports[0]?.reasons, [
    { reason: "reset", count: 11, protocol: "tcp", ports: "1-10,20" },
    { reason: "y", count: 2 },
  ]);
  assert.deepEqual(full?.extraports[0]?.reasons, [
    { reason: "x", count: 65534, protocol: "tcp", ports: "1-6,8-65535" },
  ]);
});

Deno.test("report builder default limit is 25 and open ports are never counted", () => {
  const builder = createReportBuilder(INFO);
  for (let p = 1; p <= 25; p++) builder.addPort(port("198.51.100.2", p, "closed", "conn-refused"));
  for (let p = 100; p < 200; p++) builder.addPort(port("198.51.100.2", p, "open", "syn-ack"));
  let host = builder.snapshot().hosts[0];
  assert.equal(host?.ports.length, 125);
  builder.addPort(port("198.51.100.2", 26, "closed", "conn-refused"));
  host = builder.finish({ probes: 126, retries: 0 }, START).hosts[0];
  assert.equal(host?.ports.length, 100);
  assert.equal(host?.extraports[0]?.count, 26);
});

Deno.test("report builder orders hosts IPv4 numerically, then IPv6", () => {
  const builder = createReportBuilder(INFO);
  for (const address of ["2001:db8::1", "198.51.100.10", "::ffff:1.2.3.4", "198.51.100.9"]) {
    builder.addPort(port(address, 22, "open", "syn-ack"));
  }
  builder.addPort(port("203.0.113.1", 22, "open", "syn-ack"), { sortKey: 0n });
  const report = builder.finish({ probes: 5, retries: 0 }, START);
  assert.deepEqual(report.hosts.map((h) => h.address), [
    "203.0.113.1",
    "198.51.100.9",
    "198.51.100.10",
    "::ffff:1.2.3.4",
    "2001:db8::1",
  ]);
});

Deno.test("report builder sorts ports ascending, tcp before udp", () => {
  const builder = createReportBuilder(INFO);
  builder.addPort({
    address: "198.51.100.2",
    protocol: "udp",
    port: 53,
    state: "open",
    reason: "udp-response",
  });
  builder.addPort(port("198.51.100.2", 443, "open", "syn-ack"));
  builder.addPort(port("198.51.100.2", 80, "filtered", "no-response"));
  const host = builder.finish({ probes: 3, retries: 0 }, START).hosts[0];
  assert.deepEqual(host?.ports.map((p) => `${p.port}/${p.protocol}`), [
    "80/tcp",
    "443/tcp",
    "53/udp",
  ]);
});

Deno.test("report builder derives up and unknown host states", () => {
  const builder = createReportBuilder(INFO);
  builder.addPort(port("198.51.100.1", 1, "filtered", "no-response"));
  builder.addPort(port("198.51.100.2", 1, "closed", "conn-refused"));
  builder.addPort(port("198.51.100.3", 1, "filtered", "host-unreach"));
  builder.addPort(port("198.51.100.4", 1, "filtered", "timeout"));
  const report = builder.finish({ probes: 4, retries: 0 }, START);
  assert.deepEqual(report.hosts.map((h) => [h.address, h.state, h.reason]), [
    ["198.51.100.1", "unknown", "no-response"],
    ["198.51.100.2", "up", "conn-refused"],
    ["198.51.100.3", "up", "host-unreach"],
    ["198.51.100.4", "unknown", "no-response"],
  ]);
  assert.equal(report.stats.hostsUp, 2);
  assert.equal(report.stats.hostsTotal, 4);
});

Deno.test("report builder takes host verdicts and hides down hosts unless asked", () => {
  for (const includeDown of [false, true]) {
    const builder = createReportBuilder(INFO, { includeDown });
    builder.addHost({
      address: "198.51.100.1",
      hostnames: ["a.example"],
      state: "up",
      reason: "echo-reply",
    });
    builder.addHost({
      address: "198.51.100.2",
      hostnames: [],
      state: "down",
      reason: "no-response",
    });
    builder.addPort(port("198.51.100.1", 22, "open", "syn-ack"), {
      hostnames: ["b.example", "a.example"],
    });
    const report = builder.finish({ probes: 1, retries: 0, hostsTotal: 256 }, START);
    assert.deepEqual(
      report.hosts.map((h) => [h.address, h.state, h.reason]),
      includeDown
        ? [["198.51.100.1", "up", "echo-reply"], ["198.51.100.2", "down", "no-response"]]
        : [["198.51.100.1", "up", "echo-reply"]],
    );
    assert.deepEqual(report.hosts[0]?.hostnames, ["a.example", "b.example"]);
    assert.equal(report.stats.hostsDown, 1);
    assert.equal(report.stats.hostsTotal, 256);
  }
});

Deno.test("report builder: a port answer overrides a down verdict", () => {
  const builder = createReportBuilder(INFO);
  builder.addHost({ address: "198.51.100.1", hostnames: [], state: "down", reason: "no-response" });
  builder.addPort(port("198.51.100.1", 22, "open", "syn-ack"));
  const report = builder.finish({ probes: 1, retries: 0 }, START);
  assert.equal(report.hosts[0]?.state, "up");
  assert.equal(report.stats.hostsDown, 0);
});

Deno.test("report builder openOnly counts everything but open and open|filtered", () => {
  const builder = createReportBuilder(INFO, { openOnly: true });
  builder.addPort(port("198.51.100.2", 22, "open", "syn-ack"));
  builder.addPort(port("198.51.100.2", 23, "closed", "conn-refused"));
  builder.addPort(port("198.51.100.2", 24, "filtered", "no-response"));
  builder.addPort(port("198.51.100.2", 25, "filtered", "admin-prohibited"));
  builder.addPort(port("198.51.100.2", 26, "open|filtered", "no-response"));
  const host = builder.finish({ probes: 5, retries: 0 }, START).hosts[0];
  assert.deepEqual(host?.ports.map((p) => p.port), [22, 26]);
  assert.deepEqual(host?.extraports, [
    {
      state: "filtered",
      count: 2,
      reasons: [
        { reason: "admin-prohibited", count: 1, protocol: "tcp", ports: "25" },
        { reason: "no-response", count: 1, protocol: "tcp", ports: "24" },
      ],
    },
    {
      state: "closed",
      count: 1,
      reasons: [{ reason: "conn-refused", count: 1, protocol: "tcp", ports: "23" }],
    },
  ]);
});

Deno.test("report builder finish fills the header and timing", () => {
  const builder = createReportBuilder(INFO);
  const start = builder.snapshot();
  assert.equal(start.end, "");
  assert.deepEqual(start.hosts, []);
  const report = builder.finish(
    { probes: 10, retries: 2 },
    new Date(START.getTime() + 2310),
  );
  assert.equal(report.scanner, "portolan");
  assert.equal(report.start, "2025-01-02T03:04:05.000Z");
  assert.equal(report.end, "2025-01-02T03:04:07.310Z");
  assert.equal(report.stats.seconds, 2.31);
  assert.equal(report.stats.probes, 10);
  assert.equal(report.stats.retries, 2);
  assert.deepEqual(report.args, INFO.args);
});

Deno.test("report builder rejects a negative limit", () => {
  assert.throws(
    () => createReportBuilder(INFO, { closedListLimit: -1 }),
    (e: unknown) => e instanceof RangeError && e.message.includes('"-1"'),
  );
});

Deno.test("report builder lists every filtered port, whatever the limit", () => {
  const builder = createReportBuilder(INFO, { closedListLimit: 2 });
  for (let p = 1; p <= 3; p++) builder.addPort(port("198.51.100.2", p, "filtered", "no-response"));
  builder.addPort(port("198.51.100.2", 9, "filtered", "admin-prohibited"));
  const host = builder.finish({ probes: 4, retries: 0 }, START).hosts[0];
  assert.deepEqual(host?.ports.map((p) => [p.port, p.reason]), [
    [1, "no-response"],
    [2, "no-response"],
    [3, "no-response"],
    [9, "admin-prohibited"],
  ]);
  assert.equal(host?.state, "up");
  assert.deepEqual(host?.extraports, []);
});

Deno.test("report builder restores summarised counts and keeps counting", () => {
  const builder = createReportBuilder(INFO, { closedListLimit: 2 });
  builder.addExtra("198.51.100.2", {
    state: "closed",
    count: 100,
    reasons: [{ reason: "conn-refused", count: 100 }],
  });
  builder.addPort(port("198.51.100.2", 7, "closed", "conn-refused"));
  builder.addPort(port("198.51.100.2", 22, "open", "syn-ack"));
  const host = builder.finish({ probes: 102, retries: 0 }, START).hosts[0];
  assert.equal(host?.state, "up");
  assert.deepEqual(host?.ports.map((p) => p.port), [22]);
  assert.deepEqual(host?.extraports, [{
    state: "closed",
    count: 101,
    reasons: [{ reason: "conn-refused", count: 101 }],
  }]);
});

Deno.test("bounded report builder: a host that never answered is not kept; silent ports are derived", () => {
  const scanned = { tcp: [21, 22, 80, 443] };
  const builder = createReportBuilder(INFO, { scanned });
  // Unanswered verdicts, before and after the host's first answer.
  builder.addPort(port("198.51.100.2", 21, "filtered", "no-response"));
  builder.addPort(port("198.51.100.3", 21, "filtered", "no-response"));
  builder.addPort(port("198.51.100.3", 22, "filtered", "no-response"));
  builder.addPort(port("198.51.100.2", 80, "open", "syn-ack"));
  builder.addPort(port("198.51.100.2", 443, "closed", "reset"));
  builder.addPort(port("198.51.100.2", 22, "filtered", "no-response"));
  const report = builder.finish({ probes: 6, retries: 0, hostsTotal: 2 }, START);
  assert.deepEqual(report.hosts.map((h) => h.address), ["198.51.100.2"]);
  assert.deepEqual(report.hosts[0]?.ports.map((p) => [p.port, p.state, p.reason]), [
    [21, "filtered", "no-response"],
    [22, "filtered", "no-response"],
    [80, "open", "syn-ack"],
    [443, "closed", "reset"],
  ]);
  assert.equal(report.stats.hostsTotal, 2);
  assert.equal(report.stats.hostsUp, 1);
});

Deno.test("bounded report builder: the same verdicts in any order give the same report", () => {
  const scanned = { tcp: Array.from({ length: 40 }, (_, i) => 100 + i) };
  const verdicts: PortResult[] = [];
  for (let i = 0; i < 40; i++) {
    const p = 100 + i;
    verdicts.push(
      p === 110
        ? port("198.51.100.2", p, "open", "syn-ack")
        : p % 3 === 0
        ? port("198.51.100.2", p, "filtered", "no-response")
        : port("198.51.100.2", p, "closed", "reset"),
    );
  }
  const build = (order: PortResult[]): string => {
    const builder = createReportBuilder(INFO, { scanned });
    for (const verdict of order) builder.addPort(verdict);
    return JSON.stringify(builder.finish({ probes: 40, retries: 0 }, START).hosts);
  };
  const forward = build(verdicts);
  assert.equal(build([...verdicts].reverse()), forward);
  const host = JSON.parse(forward)[0];
  // 26 closed: counted; the 13 silent ones listed by their numbers.
  assert.deepEqual(
    host.extraports.map((e: { state: string; count: number }) => [e.state, e.count]),
    [
      ["closed", 26],
    ],
  );
  assert.deepEqual(
    host.ports.filter((p: PortResult) => p.state === "filtered").map((p: PortResult) => p.port),
    verdicts.filter((v) => v.state === "filtered").map((v) => v.port),
  );
});

Deno.test("bounded report builder: a shard (deriveSilent false) reports only what answered", () => {
  const builder = createReportBuilder(INFO, { scanned: { tcp: [80, 81] }, deriveSilent: false });
  builder.addPort(port("198.51.100.2", 80, "open", "syn-ack"));
  builder.addPort(port("198.51.100.2", 81, "filtered", "no-response"));
  const host = builder.finish({ probes: 2, retries: 0 }, START).hosts[0];
  assert.deepEqual(host?.ports.map((p) => p.port), [80]);
  assert.deepEqual(host?.extraports, []);
});

Deno.test("bounded report builder: an interrupted report lists counted ports so a resume knows them", () => {
  const scanned = { tcp: Array.from({ length: 100 }, (_, i) => i + 1) };
  const first = createReportBuilder(INFO, { scanned });
  for (let p = 1; p <= 60; p++) first.addPort(port("198.51.100.2", p, "closed", "reset"));
  const partial = first.finish({ probes: 60, retries: 0 }, START, { partial: true });
  assert.equal(partial.hosts[0]?.ports.length, 60);
  assert.deepEqual(partial.hosts[0]?.extraports, []);
  const second = createReportBuilder(INFO, { scanned });
  for (const host of partial.hosts) for (const p of host.ports) second.addPort(p);
  for (let p = 61; p <= 99; p++) second.addPort(port("198.51.100.2", p, "closed", "reset"));
  const host = second.finish({ probes: 100, retries: 0 }, START).hosts[0];
  assert.deepEqual(host?.ports.map((p) => [p.port, p.state]), [[100, "filtered"]]);
  assert.deepEqual(host?.extraports.map((e) => [e.state, e.count]), [["closed", 99]]);
});

Deno.test("bounded report builder: a report that would list too many closed ports counts them all", () => {
  const build = (hostCount: number): { ports: number; extra: number } => {
    const scanned = { tcp: [22, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90] };
    const builder = createReportBuilder(INFO, { scanned });
    for (let h = 0; h < hostCount; h++) {
      const address = `198.18.${h >> 8}.${h & 255}`;
      for (const p of scanned.tcp) {
        builder.addPort(
          p === 22 ? port(address, p, "open", "syn-ack") : port(address, p, "closed", "reset"),
        );
      }
    }
    const hosts = builder.finish({ probes: 0, retries: 0 }, START).hosts;
    return {
      ports: hosts.reduce((n, h) => n + h.ports.length, 0),
      extra: hosts.reduce((n, h) => n + h.extraports.reduce((m, e) => m + e.count, 0), 0),
    };
  };
  // 11 closed ports a host: 100 hosts list 1100 of them; 1000 hosts would list 11000.
  assert.deepEqual(build(100), { ports: 1200, extra: 0 });
  assert.deepEqual(build(1000), { ports: 1000, extra: 11000 });
});

Deno.test("bounded report builder: an unanswered UDP port that service detection named is kept", () => {
  const builder = createReportBuilder(INFO, { scanned: { udp: [53, 123] } });
  builder.addPort({
    address: "198.51.100.2",
    protocol: "udp",
    port: 53,
    state: "open|filtered",
    reason: "no-response",
    service: { name: "domain" },
  });
  builder.addPort({
    address: "198.51.100.2",
    protocol: "udp",
    port: 123,
    state: "open|filtered",
    reason: "no-response",
  });
  const host = builder.finish({ probes: 2, retries: 0 }, START).hosts[0];
  assert.deepEqual(host?.ports.map((p) => [p.port, p.service?.name]), [[53, "domain"], [
    123,
    undefined,
  ]]);
});
