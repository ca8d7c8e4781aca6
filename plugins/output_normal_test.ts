import assert from "node:assert/strict";
import type { PortResult, ScanReport } from "../src/model/mod.ts";
import { createEventBus, runOutputs } from "../src/output/bus.ts";
import { createReportBuilder } from "../src/output/report_builder.ts";
import { significantSeconds } from "../src/plugin/format.ts";
import { runOutput, sampleScan } from "../src/plugin_testing/mod.ts";
import { formatDate, normalOutput, normalReport, serviceInfoLine } from "./output_normal.ts";

const NAMES = new Map([["22/tcp", "ssh"], ["80/tcp", "http"], ["443/tcp", "https"]]);
const NO_TABLES = { serviceNames: NAMES, macVendors: new Map([["0050F2", "Microsoft"]]) };

async function run(interrupted: boolean, args: string[] = []): Promise<string> {
  const start = new Date(2025, 0, 2, 3, 4, 5);
  const builder = createReportBuilder({
    version: "0.1.0",
    args: [...args, "-p", "22,80", "--banner", "it's", "198.51.100.2"],
    scaninfo: [{ type: "connect", protocol: "tcp", numServices: 2, services: "22,80" }],
    start,
  });
  builder.addPort({
    address: "198.51.100.2",
    protocol: "tcp",
    port: 80,
    state: "closed",
    reason: "conn-refused",
  }, { hostnames: ["web\x1b[2J"] });
  builder.addPort({
    address: "198.51.100.2",
    protocol: "tcp",
    port: 22,
    state: "open",
    reason: "syn-ack",
    reasonTtl: 64,
    service: { name: "ssh" },
  });
  const chunks: string[] = [];
  const bus = createEventBus();
  const done = runOutputs([{
    plugin: normalOutput(NO_TABLES),
    writer: { color: true, write: (text) => Promise.resolve(void chunks.push(text)) },
  }], bus);
  bus.emit({ type: "start", report: builder.snapshot() });
  bus.emit({
    type: "end",
    report: builder.finish({ probes: 2, retries: 0, hostsTotal: 4 }, new Date(2025, 0, 2, 3, 4, 7)),
    interrupted,
  });
  bus.close();
  assert.deepEqual(await done, []);
  return chunks.join("");
}

Deno.test("formatDate uses nmap's form in local time, the day padded with a space", () => {
  assert.equal(
    formatDate(new Date(2025, 10, 26, 16, 5, 9).toISOString()),
    "Wed Nov 26 16:05:09 2025",
  );
  assert.equal(
    formatDate(new Date(2026, 11, 3, 8, 10, 32).toISOString()),
    "Thu Dec  3 08:10:32 2026",
  );
  assert.equal(formatDate("bogus\x1b"), "bogus\\x1b");
});

Deno.test("latency has two significant digits in plain notation, as nmap's", () => {
  assert.equal(significantSeconds(0.008), "0.0000080");
  assert.equal(significantSeconds(0.044), "0.000044");
  assert.equal(significantSeconds(0.55), "0.00055");
  assert.equal(significantSeconds(10), "0.010");
  assert.equal(significantSeconds(1330), "1.3");
  assert.equal(significantSeconds(12_400), "12");
});

Deno.test("normal output is nmap's: report lines, no REASON without --reason, table names", async () => {
  const text = await run(false);
  assert.equal(
    text,
    [
      "# portolan 0.1.0 scan initiated Thu Jan  2 03:04:05 2025 as: " +
      "portolan -p 22,80 --banner 'it'\\''s' 198.51.100.2",
      "Nmap scan report for web\\x1b[2J (198.51.100.2)",
      "Host is up.",
      "",
      "PORT   STATE  SERVICE",
      "22/tcp open   ssh",
      "80/tcp closed http",
      "",
      "# Nmap done at Thu Jan  2 03:04:07 2025 -- 4 IP addresses (1 host up) " +
      "scanned in 2.00 seconds",
      "",
    ].join("\n"),
  );
  // What tools written for nmap's files key on.
  assert.equal(text.match(/^Nmap scan report for /gm)?.length, 1);
  assert.equal(text.split("\n").find((line) => line.startsWith("22/tcp"))?.split(/\s+/)[2], "ssh");
});

Deno.test("normal output has the REASON column and 'received' with --reason", async () => {
  const text = await run(false, ["--reason"]);
  assert.match(text, /^Host is up, received conn-refused\.$/m);
  const lines = text.split("\n");
  assert.ok(lines.includes("PORT   STATE  SERVICE REASON"), text);
  assert.ok(lines.includes("22/tcp open   ssh     syn-ack ttl 64"), text);
  assert.ok(lines.includes("80/tcp closed http    conn-refused"), text);
});

Deno.test("normal output notes an interrupted scan", async () => {
  const text = await run(true);
  assert.ok(text.includes("\n# Scan interrupted: results are partial.\n# Nmap done at "));
});

Deno.test("Not shown lists every state and reason as nmap, 'ports' even for one", async () => {
  const { events } = sampleScan();
  const text = await runOutput(normalOutput(NO_TABLES), events);
  assert.match(
    text,
    /^Nmap scan report for web\.example \(198\.51\.100\.2\)\nHost is up \(0\.00025s latency\)\.\n(Not shown: 58 closed tcp ports \(conn-refused\), 38 filtered tcp ports \(no-response\))\n/m,
  );
  // The sample's filtered host: three ports, two reasons, all listed.
  assert.match(
    text,
    /^1\/tcp filtered unknown\n2\/tcp filtered unknown\n3\/tcp filtered unknown$/m,
  );
  // The down host is left out without -v, as nmap does.
  assert.doesNotMatch(text, /198\.51\.100\.3/);
  const withDown = normalReport(sampleScan().report, { ...NO_TABLES, verbose: true });
  assert.match(withDown, /^Nmap scan report for 198\.51\.100\.3 \[host down\]$/m);
});

function report(
  ports: PortResult[],
  args: string[],
  host: Partial<ScanReport["hosts"][0]> = {},
): ScanReport {
  const builder = createReportBuilder({
    version: "0.1.0",
    args: ["portolan", ...args],
    scaninfo: args.includes("-sn")
      ? []
      : [{ type: "syn", protocol: "tcp", numServices: ports.length, services: "" }],
    start: new Date(2026, 11, 3, 8, 10, 32),
  });
  builder.addHost({
    address: "198.51.100.2",
    hostnames: [],
    state: "up",
    reason: "arp-response",
    ...host,
  } as never);
  for (const port of ports) builder.addPort(port);
  return builder.finish({ probes: 1, retries: 0 }, new Date(2026, 11, 3, 8, 10, 33));
}

Deno.test("-sV: VERSION column, ssl/, '?' after a table guess, Service Info, the closing note", () => {
  const base = { address: "198.51.100.2", protocol: "tcp" as const, state: "open" as const };
  const text = normalReport(
    report(
      [
        {
          ...base,
          port: 22,
          reason: "syn-ack",
          service: {
            name: "ssh",
            product: "OpenSSH",
            version: "9.2p1 Debian 2+deb12u10",
            extraInfo: "protocol 2.0",
            ostype: "Linux",
            method: "probed",
            cpe: ["cpe:/a:openbsd:openssh:9.2p1", "cpe:/o:linux:linux_kernel"],
          },
        },
        {
          ...base,
          port: 25,
          reason: "syn-ack",
          service: { name: "smtp", product: "Exim smtpd", hostname: "mail.lab.example" },
        },
        {
          ...base,
          port: 443,
          reason: "syn-ack",
          service: { name: "http", product: "nginx", version: "1.22.1", tunnel: "ssl" },
        },
        { ...base, port: 7000, reason: "syn-ack" },
      ],
      ["-sV"],
      { mac: "00:50:f2:01:02:03" },
    ),
    { serviceNames: new Map([["7000/tcp", "afs3-fileserver"]]), macVendors: NO_TABLES.macVendors },
  );
  assert.equal(
    text.split("\n").slice(1, -2).join("\n"),
    [
      "Nmap scan report for 198.51.100.2",
      "Host is up.",
      "",
      "PORT     STATE SERVICE          VERSION",
      "22/tcp   open  ssh              OpenSSH 9.2p1 Debian 2+deb12u10 (protocol 2.0)",
      "25/tcp   open  smtp             Exim smtpd",
      "443/tcp  open  ssl/http         nginx 1.22.1",
      "7000/tcp open  afs3-fileserver?",
      "MAC Address: 00:50:F2:01:02:03 (Microsoft)",
      "Service Info: Host: mail.lab.example; OS: Linux; CPE: cpe:/o:linux:linux_kernel",
      "",
      "Service detection performed. Please report any incorrect results to portolan's maintainers.",
    ].join("\n"),
  );
});

Deno.test("Service Info pluralises and leaves out application CPEs", () => {
  const port = (service: Record<string, unknown>): PortResult => ({
    address: "198.51.100.2",
    protocol: "tcp",
    port: 1,
    state: "open",
    reason: "syn-ack",
    service,
  });
  assert.equal(
    serviceInfoLine([
      port({ ostype: "Unix" }),
      port({ ostype: "Linux", cpe: ["cpe:/a:x:y"] }),
      port({ ostype: "Linux" }),
    ]),
    "Service Info: OSs: Unix, Linux",
  );
  assert.equal(serviceInfoLine([port({ name: "ssh" })]), undefined);
});

Deno.test("-sn: no blank lines, latency and MAC of the discovery answer", () => {
  const text = normalReport(
    report([], ["-sn"], { rtt: 0.044, mac: "32:28:85:3d:f7:a7" }),
    NO_TABLES,
  );
  assert.equal(
    text.split("\n").slice(1).join("\n"),
    [
      "Nmap scan report for 198.51.100.2",
      "Host is up (0.000044s latency).",
      "MAC Address: 32:28:85:3D:F7:A7 (Unknown)",
      "# Nmap done at Thu Dec  3 08:10:33 2026 -- 1 IP address (1 host up) scanned in 1.00 seconds",
      "",
    ].join("\n"),
  );
});

Deno.test("-Pn: a host nothing answered is up, received user-set, in every nmap format", async () => {
  const builder = createReportBuilder({
    version: "0.1.0",
    args: ["portolan", "-Pn", "--reason", "-p", "23", "198.51.100.2"],
    scaninfo: [{ type: "syn", protocol: "tcp", numServices: 1, services: "23" }],
    start: new Date(2026, 11, 3, 8, 10, 32),
  });
  builder.addPort({
    address: "198.51.100.2",
    protocol: "tcp",
    port: 23,
    state: "filtered",
    reason: "no-response",
  });
  const report = builder.finish({ probes: 1, retries: 0, hostsTotal: 1 }, new Date());
  assert.equal(report.hosts[0]?.state, "unknown");
  const normal = normalReport(report, NO_TABLES);
  assert.match(normal, /^Host is up, received user-set\.$/m);
  assert.match(normal, /^23\/tcp filtered unknown no-response$/m);
  assert.match(normal, /\(1 host up\) scanned in/);
  const { grepableOutput } = await import("./output_grepable.ts");
  const { toXml } = await import("./output_xml.ts");
  const events = [{ type: "end" as const, report, interrupted: false }];
  assert.match(await runOutput(grepableOutput(NO_TABLES), events), /\tStatus: Up\n/);
  const xml = toXml(report, NO_TABLES);
  assert.match(xml, /<status state="up" reason="user-set" reason_ttl="0"\/>/);
  assert.match(xml, /<hosts up="1" down="0" total="1"\/>/);
});
