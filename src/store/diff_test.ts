import assert from "node:assert/strict";
import type { HostReport, PortResult, ScanReport, ServiceMatch } from "../model/mod.ts";
import { rawUnsafe } from "../plugin/format.ts";
import { diffReports, diffToJson, formatDiff, hasChanges } from "./diff.ts";

function report(hosts: HostReport[], services = "1-65535"): ScanReport {
  return {
    scanner: "portolan",
    version: "0.1.0",
    args: ["portolan", "-sT", "198.51.100.0/24"],
    start: "2030-01-01T00:00:00.000Z",
    end: "2030-01-01T00:01:00.000Z",
    scaninfo: [{ type: "connect", protocol: "tcp", numServices: 0, services }],
    hosts,
    stats: { probes: 0, retries: 0, seconds: 60, hostsUp: 0, hostsDown: 0, hostsTotal: 0 },
  };
}

function host(
  address: string,
  ports: PortResult[],
  closed = 1000,
  state: HostReport["state"] = "up",
): HostReport {
  return {
    address,
    hostnames: [],
    state,
    reason: "syn-ack",
    ports,
    extraports: closed > 0
      ? [{ state: "closed", count: closed, reasons: [{ reason: "conn-refused", count: closed }] }]
      : [],
  };
}

function p(
  number: number,
  state: PortResult["state"] = "open",
  service?: ServiceMatch,
): PortResult {
  return {
    address: "",
    protocol: "tcp",
    port: number,
    state,
    reason: state === "open" ? "syn-ack" : "no-response",
    ...(service === undefined ? {} : { service }),
  };
}

Deno.test("diffReports: new, gone and changed ports, as the text shows them", () => {
  const a = report([
    host("198.51.100.2", [
      p(22),
      p(443, "open", { name: "https", product: "nginx", version: "1.22" }),
      p(8080, "filtered"),
    ]),
  ]);
  const b = report([
    host("198.51.100.2", [
      p(443, "open", { name: "https", product: "nginx", version: "1.24" }),
      p(8080, "open"),
      p(8081),
    ]),
  ]);
  const diff = diffReports(a, b);
  assert.deepEqual(diff.summary, {
    newHosts: 0,
    goneHosts: 0,
    newPorts: 1,
    gonePorts: 1,
    changedPorts: 2,
    unscannedPorts: 0,
  });
  assert.equal(
    formatDiff(diff, { header: false }),
    [
      "198.51.100.2",
      "  - 22/tcp   open   (gone: now closed)",
      "  ~ 443/tcp  https  nginx 1.22 -> nginx 1.24",
      "  ~ 8080/tcp filtered -> open",
      "  + 8081/tcp open   (new)",
      "1 new, 1 gone, 2 changed ports; 0 new, 0 gone hosts",
      "",
    ].join("\n"),
  );
  const ports = diff.hosts[0]?.ports ?? [];
  assert.deepEqual(ports.map((x) => [x.port, x.change]), [[22, "gone"], [443, "changed"], [
    8080,
    "changed",
  ], [8081, "new"]]);
  assert.deepEqual(ports[1]?.changes, [{ field: "version", before: "1.22", after: "1.24" }]);
  assert.equal(ports[0]?.after.state, "closed");
});

Deno.test("diffReports: identical scans, and closed ports listed on one side only, show nothing", () => {
  const a = report([host("198.51.100.2", [p(22), p(25, "closed")])]);
  const b = report([host("198.51.100.2", [p(22)])]);
  const diff = diffReports(a, b);
  assert.deepEqual(diff.hosts, []);
  assert.equal(formatDiff(diff, { header: false }), "No changes.\n");
  assert.deepEqual(diffReports(b, b).hosts, []);
});

Deno.test("diffReports: hosts that appear, vanish or go down", () => {
  const a = report([
    host("198.51.100.2", [p(22)]),
    host("198.51.100.3", [p(80)]),
    host("198.51.100.4", [p(53)]),
  ]);
  const b = report([
    host("198.51.100.2", [p(22)]),
    host("198.51.100.4", [], 0, "down"),
    { ...host("198.51.100.10", [p(3389)]), hostnames: ["new.example"] },
  ]);
  const diff = diffReports(a, b, { labels: ["scan 1", "scan 2"] });
  assert.deepEqual(diff.summary, {
    newHosts: 1,
    goneHosts: 2,
    newPorts: 1,
    gonePorts: 2,
    changedPorts: 0,
    unscannedPorts: 0,
  });
  assert.equal(
    formatDiff(diff),
    [
      "--- scan 1  2030-01-01T00:00:00.000Z  portolan -sT 198.51.100.0/24",
      "+++ scan 2  2030-01-01T00:00:00.000Z  portolan -sT 198.51.100.0/24",
      "198.51.100.3  (gone)",
      "  - 80/tcp   open   (gone: host gone)",
      "198.51.100.4  (gone: now down)",
      "  - 53/tcp   open   (gone: host down)",
      "198.51.100.10 (new.example)  (new host)",
      "  + 3389/tcp open   (new)",
      "1 new, 2 gone, 0 changed ports; 1 new, 2 gone hosts",
      "",
    ].join("\n"),
  );
});

Deno.test("diffReports: ports outside the other scan's range are 'not scanned', not closed", () => {
  const a = report([host("198.51.100.2", [p(22), p(8443)])], "1-1024,8443");
  const b = report([host("198.51.100.2", [p(22)])], "1-1024");
  const ports = diffReports(a, b).hosts[0]?.ports ?? [];
  assert.deepEqual(ports.map((x) => [x.port, x.change, x.after.state]), [[
    8443,
    "unscanned",
    "unscanned",
  ]]);
  // Either way round: a port the older scan never probed is not "new".
  const back = diffReports(b, a);
  assert.deepEqual(back.hosts[0]?.ports.map((x) => [x.port, x.change, x.before.state]), [[
    8443,
    "unscanned",
    "unscanned",
  ]]);
  assert.equal(back.summary.newPorts, 0);
  assert.equal(back.summary.unscannedPorts, 1);
  assert.equal(hasChanges(back), false);
  const text = formatDiff(back, { header: false });
  assert.match(text, /\? 8443\/tcp +open +\(not scanned before\)/);
  assert.doesNotMatch(text, /\(new\)/);
  assert.match(
    formatDiff(diffReports(a, b), { header: false }),
    /\? 8443\/tcp +open +\(not scanned now\)/,
  );
  // Extraports of several states do not say which one an unlisted port had.
  const mixed = report([{
    ...host("198.51.100.2", []),
    extraports: [
      { state: "closed", count: 500, reasons: [] },
      { state: "filtered", count: 500, reasons: [] },
    ],
  }]);
  const gone = diffReports(a, mixed).hosts[0]?.ports ?? [];
  assert.deepEqual(gone.map((x) => x.after.state), ["unlisted", "unlisted"]);
});

Deno.test("diffReports: service and certificate changes; a side without -sV is no change", () => {
  const before = p(443, "open", {
    name: "https",
    product: "nginx",
    version: "1.22",
    cpe: ["cpe:/a:nginx:nginx:1.22"],
    certificate: { fingerprint: "aa:aa", subject: "CN=a.example", notAfter: "2030-06-01" },
  });
  const after = p(443, "open", {
    name: "https",
    product: "nginx",
    version: "1.22",
    cpe: ["cpe:/a:nginx:nginx:1.22"],
    certificate: { fingerprint: "bb:bb", subject: "CN=a.example", notAfter: "2031-06-01" },
  });
  const diff = diffReports(
    report([host("198.51.100.2", [before])]),
    report([host("198.51.100.2", [after])]),
  );
  const port443 = diff.hosts[0]?.ports[0];
  assert.deepEqual(port443?.changes, [
    { field: "certFingerprint", before: "aa:aa", after: "bb:bb" },
    { field: "certNotAfter", before: "2030-06-01", after: "2031-06-01" },
  ]);
  assert.equal(
    formatDiff(diff, { header: false }).split("\n").slice(1, 3).join("\n"),
    [
      "  ~ 443/tcp  https  certificate fingerprint aa:aa -> bb:bb",
      "  ~ 443/tcp  https  certificate notAfter 2030-06-01 -> 2031-06-01",
    ].join("\n"),
  );
  // Without version detection on one side, only the service name is compared.
  const plain = p(443, "open", { name: "https" });
  assert.deepEqual(
    diffReports(report([host("198.51.100.2", [before])]), report([host("198.51.100.2", [plain])]))
      .hosts,
    [],
  );
  const renamed = p(443, "open", { name: "http", product: "nginx", version: "1.22" });
  const nameDiff = diffReports(
    report([host("198.51.100.2", [plain])]),
    report([host("198.51.100.2", [renamed])]),
  );
  assert.deepEqual(nameDiff.hosts[0]?.ports[0]?.changes, [{
    field: "service",
    before: "https",
    after: "http",
  }]);
  assert.ok(
    formatDiff(nameDiff, { header: false }).includes(
      "~ 443/tcp  http   https -> http nginx 1.22\n",
    ),
  );
});

Deno.test("formatDiff: colour marks new green, gone red, changed yellow", () => {
  const diff = diffReports(
    report([host("198.51.100.2", [p(22), p(80, "filtered")])]),
    report([host("198.51.100.2", [p(80), p(443)])]),
  );
  const text = formatDiff(diff, { color: true, header: false });
  const lines = text.split("\n");
  assert.ok(lines.includes("  \x1b[31m- 22/tcp   open   (gone: now closed)\x1b[0m"), text);
  assert.ok(lines.includes("  \x1b[33m~ 80/tcp   filtered -> open\x1b[0m"), text);
  assert.ok(lines.includes("  \x1b[32m+ 443/tcp  open   (new)\x1b[0m"), text);
  assert.ok(!formatDiff(diff, { header: false }).includes("\x1b"));
});

Deno.test("diffToJson: stable, complete and parseable", () => {
  const diff = diffReports(
    report([host("198.51.100.2", [p(22)])]),
    report([host("198.51.100.2", [p(22, "filtered"), p(8081, "open", { name: "http" })])]),
    { labels: ["a.xml", "b.json"] },
  );
  const json = JSON.parse(diffToJson(diff));
  assert.deepEqual(Object.keys(json), ["from", "to", "summary", "hosts"]);
  assert.equal(json.from.label, "a.xml");
  assert.deepEqual(json.summary, {
    newHosts: 0,
    goneHosts: 0,
    newPorts: 1,
    gonePorts: 0,
    changedPorts: 1,
    unscannedPorts: 0,
  });
  const [changed, added] = json.hosts[0].ports;
  assert.deepEqual(changed.changes, [{ field: "state", before: "open", after: "filtered" }]);
  assert.equal(added.change, "new");
  assert.equal(added.after.service.name, "http");
  assert.equal(added.before.state, "closed");
  assert.equal(added.after.service.certificate.fingerprint, null);
});

Deno.test("formatDiff and diffToJson print no raw ESC, BEL, DEL, C1 or bidi from the reports", () => {
  // An OSC 52 clipboard write and a screen clear, as a hostile banner carries them.
  const nasty = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\x7f\x85\x9b2J\u202eevil\u2066";
  const a = report([host("198.51.100.2", [p(80, "open", { name: "http", product: "a" })])]);
  const b = report([
    {
      ...host("198.51.100.2", [
        p(80, "open", { name: `http${nasty}`, product: nasty, version: nasty, extraInfo: nasty }),
        p(81, "open", { name: nasty }),
      ]),
      hostnames: [nasty],
    },
    { ...host(`198.51.100.3${nasty}`, [p(22)]), hostnames: [nasty] },
  ]);
  b.args = ["portolan", nasty];
  const diff = diffReports(a, b, { labels: [nasty, "b"] });
  for (const color of [false, true]) {
    const text = formatDiff(diff, { color });
    // Colour adds its own ESC [ … m; nothing else may be raw.
    const stripped = text.replace(new RegExp("\x1b\\[[0-9;]*m", "g"), "");
    assert.deepEqual(rawUnsafe(stripped), [], `colour ${color}`);
    assert.match(stripped, /\\x1b\]52;c;ZXZpbA==\\x07\\x1b\[2J\\x7f\\x85\\x9b2J\\u\{202e\}evil/);
  }
  const json = diffToJson(diff);
  assert.deepEqual(rawUnsafe(json), []);
  assert.equal(JSON.parse(json).hosts[0].hostnames[0], nasty);
});

Deno.test("diffReports: ports a partial (interrupted) scan never listed are 'not scanned', not closed", () => {
  const full = report([host("198.51.100.2", [p(22), p(80), p(443)])]);
  const partial = { ...report([host("198.51.100.2", [p(22)])]), end: "" };
  const text = formatDiff(diffReports(full, partial), { header: false });
  assert.match(text, /\? 80\/tcp +open +\(not scanned now\)/);
  assert.match(text, /\? 443\/tcp +open +\(not scanned now\)/);
  assert.doesNotMatch(text, /now closed/);
  // Finished, the same report says they closed.
  const finished = { ...partial, end: "2030-01-01T00:02:00.000Z" };
  assert.match(formatDiff(diffReports(full, finished), { header: false }), /\(gone: now closed\)/);
});
