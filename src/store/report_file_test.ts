import assert from "node:assert/strict";
import { toJson } from "../../plugins/output_json.ts";
import type { ScanReport } from "../model/mod.ts";
import { diffReports } from "./diff.ts";
import { parseJsonReport, parseReportText, readReportFile } from "./report_file.ts";

const REPORT: ScanReport = {
  scanner: "portolan",
  version: "0.1.0",
  args: ["portolan", "-sT", "-p", "22,80,443", "198.51.100.2"],
  start: "2030-01-01T00:00:00.000Z",
  end: "2030-01-01T00:00:03.000Z",
  scaninfo: [{ type: "connect", protocol: "tcp", numServices: 3, services: "22,80,443" }],
  hosts: [{
    address: "198.51.100.2",
    hostnames: ["www.example"],
    state: "up",
    reason: "syn-ack",
    ports: [
      {
        address: "198.51.100.2",
        protocol: "tcp",
        port: 22,
        state: "open",
        reason: "syn-ack",
        rtt: 0.4,
      },
      {
        address: "198.51.100.2",
        protocol: "tcp",
        port: 443,
        state: "filtered",
        reason: "no-response",
        service: { name: "https" },
      },
    ],
    extraports: [{ state: "closed", count: 1, reasons: [{ reason: "conn-refused", count: 1 }] }],
  }],
  stats: { probes: 4, retries: 1, seconds: 3, hostsUp: 1, hostsDown: 0, hostsTotal: 1 },
};

Deno.test("readReportFile: a -oJ file as the JSON plugin writes it reads back equal", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portolan_store_" });
  try {
    await Deno.writeTextFile(`${dir}/scan.json`, toJson(REPORT));
    const back = await readReportFile(`${dir}/scan.json`);
    assert.deepEqual(back, REPORT);
    assert.deepEqual(diffReports(REPORT, back).hosts, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readReportFile: XML is told from JSON by its first character", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portolan_store_" });
  try {
    await Deno.writeTextFile(
      `${dir}/scan.xml`,
      `\uFEFF\n  <?xml version="1.0"?><nmaprun scanner="portolan" args="portolan 127.0.0.1" start="1893456000">` +
        `<host><status state="up" reason="syn-ack"/><address addr="127.0.0.1" addrtype="ipv4"/>` +
        `<ports><port protocol="tcp" portid="8081"><state state="open" reason="syn-ack"/></port></ports></host>` +
        `</nmaprun>`,
    );
    const report = await readReportFile(`${dir}/scan.xml`);
    assert.deepEqual(report.hosts.map((h) => [h.address, h.ports.map((p) => p.port)]), [[
      "127.0.0.1",
      [8081],
    ]]);
    assert.equal(report.end, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readReportFile: missing, foreign and malformed files give one-line errors", async () => {
  await assert.rejects(
    () => readReportFile("/nonexistent/portolan/scan.json"),
    (error: unknown) =>
      error instanceof Error &&
      error.message === `Cannot read report "/nonexistent/portolan/scan.json": no such file`,
  );
  assert.throws(
    () => parseReportText("Nmap scan report for 127.0.0.1", "scan.txt"),
    (error: unknown) =>
      error instanceof SyntaxError &&
      error.message === `Cannot parse report "scan.txt": not a portolan JSON or nmap XML file`,
  );
  assert.throws(
    () => parseReportText('{"hosts": [', "cut.json"),
    (error: unknown) =>
      error instanceof SyntaxError &&
      error.message.startsWith(`Cannot parse report "cut.json": invalid JSON (`),
  );
  assert.throws(
    () => parseJsonReport('{"scanner": "other"}', "other.json"),
    (error: unknown) =>
      error instanceof SyntaxError &&
      error.message ===
        `Cannot parse report "other.json": not a portolan JSON report (no "hosts" array)`,
  );
});

Deno.test("parseJsonReport: malformed hosts and ports are skipped, defaults filled", () => {
  const report = parseJsonReport(
    JSON.stringify({
      hosts: [
        {
          address: "198.51.100.2",
          ports: [{ port: 22, state: "open" }, { port: 99999, state: "open" }, { port: 1 }],
        },
        { ports: [] },
        "junk",
      ],
    }),
    "loose.json",
  );
  assert.deepEqual(report.hosts, [{
    address: "198.51.100.2",
    hostnames: [],
    state: "unknown",
    reason: "",
    ports: [{ address: "198.51.100.2", protocol: "tcp", port: 22, state: "open", reason: "" }],
    extraports: [],
  }]);
  assert.deepEqual(report.stats, {
    probes: 0,
    retries: 0,
    seconds: 0,
    hostsUp: 0,
    hostsDown: 0,
    hostsTotal: 1,
  });
});

Deno.test("parseJsonReport: a malformed service is narrowed to the model, not passed through", () => {
  const port = (number: number, service: unknown): Record<string, unknown> => ({
    port: number,
    state: "open",
    service,
  });
  const text = (services: unknown[]): string =>
    JSON.stringify({
      hosts: [{ address: "198.51.100.2", ports: services.map((s, i) => port(20 + i, s)) }],
    });
  const before = parseJsonReport(
    text([
      // Wrong types, a foreign certificate shape, an unknown field.
      {
        name: "https",
        product: ["nginx"],
        version: 1.22,
        cpe: "cpe:/a:nginx:nginx",
        certificate: { sha256: "aa:aa", subject: { commonName: "a" }, notAfter: "2031-01-01" },
        evil: { toString: "x" },
      },
      // Not an object, or nothing that fits: no service at all.
      "ssh",
      { name: 22, cpe: [1, 2] },
    ]),
    "a.json",
  );
  assert.deepEqual(before.hosts[0]?.ports.map((p) => [p.port, p.service]), [
    [20, { name: "https", certificate: { notAfter: "2031-01-01" } }],
    [21, undefined],
    [22, undefined],
  ]);
  assert.ok(before.hosts[0]?.ports.slice(1).every((p) => !("service" in p)));
  // A diff reads the narrowed fields only: the certificate's expiry, never the dropped fields.
  const after = parseJsonReport(
    text([{ name: "https", product: "nginx", certificate: { notAfter: "2032-01-01" } }]),
    "b.json",
  );
  const changes = diffReports(before, after).hosts[0]?.ports[0]?.changes;
  assert.deepEqual(changes, [
    { field: "certNotAfter", before: "2031-01-01", after: "2032-01-01" },
  ]);
});

Deno.test("parseReportText: a file shaped like a report but holding none is refused", () => {
  assert.throws(
    () => parseReportText(`{"scanner":"portolan","hosts":[[[1]],[2]]}`, "x.json"),
    /^SyntaxError: Cannot parse report "x\.json": not a portolan JSON report \(no entry of "hosts" is a host\)$/,
  );
  assert.throws(
    () => parseReportText(`<nmaprun><a><b>x</b></a></nmaprun>`, "x.xml"),
    /^SyntaxError: Cannot parse report "x\.xml": not an nmap XML report \(<nmaprun> has no scanner or start\)$/,
  );
});

Deno.test("parseJsonReport: an interrupted -oJ reads as unfinished", () => {
  const text = JSON.stringify({
    scanner: "portolan",
    start: "2030-01-01T00:00:00.000Z",
    end: "2030-01-01T00:00:09.000Z",
    interrupted: true,
    hosts: [{ address: "198.51.100.2", state: "up", ports: [] }],
  });
  assert.equal(parseJsonReport(text, "partial.json").end, "");
  assert.equal(
    parseJsonReport(text.replace('"interrupted":true', '"interrupted":false'), "whole.json").end,
    "2030-01-01T00:00:09.000Z",
  );
});

Deno.test("a -oJ report's script output is read back with its port", () => {
  const withScripts: ScanReport = structuredClone(REPORT);
  withScripts.hosts[0]!.ports[0]!.scripts = [
    { id: "ssh-hostkey", output: "\n  256 aa (ED25519)" },
  ];
  const read = parseJsonReport(toJson(withScripts), "a.json");
  assert.deepEqual(read.hosts[0]?.ports[0]?.scripts, [
    { id: "ssh-hostkey", output: "\n  256 aa (ED25519)" },
  ]);
  const odd = JSON.parse(toJson(withScripts));
  odd.hosts[0].ports[0].scripts = [{ id: 1 }, "x", { id: "ok", output: "fine" }];
  assert.deepEqual(parseJsonReport(JSON.stringify(odd), "b.json").hosts[0]?.ports[0]?.scripts, [
    { id: "ok", output: "fine" },
  ]);
});
