import assert from "node:assert/strict";
import type { HostReport, ScanReport } from "../model/mod.ts";
import { renderTable, tableChunks } from "./table.ts";

function report(hosts: HostReport[], stats: Partial<ScanReport["stats"]> = {}): ScanReport {
  return {
    scanner: "portolan",
    version: "0.1.0",
    args: ["-p-", "198.51.100.2"],
    start: "2025-01-02T03:04:05.000Z",
    end: "2025-01-02T03:04:07.310Z",
    scaninfo: [{ type: "connect", protocol: "tcp", numServices: 65535, services: "1-65535" }],
    hosts,
    stats: {
      probes: 65535,
      retries: 0,
      seconds: 2.31,
      hostsUp: 1,
      hostsDown: 0,
      hostsTotal: 1,
      ...stats,
    },
  };
}

const HOST: HostReport = {
  address: "198.51.100.2",
  hostnames: [],
  state: "up",
  reason: "syn-ack",
  ports: [
    {
      address: "198.51.100.2",
      protocol: "tcp",
      port: 22,
      state: "open",
      reason: "syn-ack",
      rtt: 0.12,
      service: { name: "ssh" },
    },
    {
      address: "198.51.100.2",
      protocol: "tcp",
      port: 443,
      state: "closed",
      reason: "conn-refused",
      rtt: 0.5,
      reasonTtl: 64,
    },
    {
      address: "198.51.100.2",
      protocol: "tcp",
      port: 8080,
      state: "filtered",
      reason: "no-response",
    },
  ],
  extraports: [{
    state: "closed",
    count: 65415,
    reasons: [{ reason: "conn-refused", count: 65415 }],
  }],
};

Deno.test("renderTable lays out a host like nmap", () => {
  const text = renderTable(report([HOST]), { color: false, reason: true });
  assert.equal(
    text,
    [
      "portolan scan report for 198.51.100.2",
      "Host is up, received syn-ack (0.00012s latency).",
      "Not shown: 65415 closed tcp ports (conn-refused)",
      "PORT     STATE    SERVICE REASON",
      "22/tcp   open     ssh     syn-ack",
      "443/tcp  closed           conn-refused ttl 64",
      "8080/tcp filtered         no-response",
      "",
      "portolan done: 1 IP address (1 host up) scanned in 2.31 seconds",
      "",
    ].join("\n"),
  );
});

Deno.test("renderTable without reasons, with a hostname and several reasons", () => {
  const host: HostReport = {
    ...HOST,
    hostnames: ["www.example"],
    ports: [HOST.ports[0]!],
    extraports: [{
      state: "filtered",
      count: 998,
      reasons: [{ reason: "no-response", count: 990 }, { reason: "admin-prohibited", count: 8 }],
    }, { state: "closed", count: 1, reasons: [{ reason: "conn-refused", count: 1 }] }],
  };
  const text = renderTable(report([host], { hostsTotal: 256, hostsUp: 2 }), {
    color: false,
    reason: false,
  });
  assert.equal(
    text,
    [
      "portolan scan report for www.example (198.51.100.2)",
      "Host is up (0.00012s latency).",
      "Not shown: 998 filtered tcp ports (990 no-response, 8 admin-prohibited), " +
      "1 closed tcp port (conn-refused)",
      "PORT   STATE SERVICE",
      "22/tcp open  ssh",
      "",
      "portolan done: 256 IP addresses (2 hosts up) scanned in 2.31 seconds",
      "",
    ].join("\n"),
  );
});

Deno.test("renderTable shows only up hosts unless verbose", () => {
  const down: HostReport = {
    address: "198.51.100.3",
    hostnames: [],
    state: "down",
    reason: "no-response",
    ports: [],
    extraports: [],
  };
  const silent: HostReport = {
    ...down,
    address: "198.51.100.4",
    state: "unknown",
    extraports: [{
      state: "filtered",
      count: 1000,
      reasons: [{ reason: "no-response", count: 1000 }],
    }],
  };
  const quiet = renderTable(report([HOST, down, silent]), { color: false, reason: false });
  assert.ok(quiet.includes("198.51.100.2"));
  assert.ok(!quiet.includes("198.51.100.3"));
  assert.ok(!quiet.includes("198.51.100.4"));
  // An unknown host with a few listed ports is worth showing: a UDP or firewalled target.
  const listed: HostReport = {
    ...silent,
    extraports: [],
    ports: [{
      address: "198.51.100.4",
      protocol: "tcp",
      port: 80,
      state: "filtered",
      reason: "no-response",
    }],
  };
  const some = renderTable(report([listed]), { color: false, reason: false });
  assert.ok(
    some.startsWith(
      "portolan scan report for 198.51.100.4\nHost state is unknown: no port answered.\n" +
        "PORT   STATE    SERVICE\n80/tcp filtered\n",
    ),
  );
  const loud = renderTable(report([HOST, down, silent]), {
    color: false,
    reason: false,
    verbose: true,
  });
  assert.ok(loud.includes("portolan scan report for 198.51.100.3 [host down, no-response]"));
  assert.ok(
    loud.includes(
      "All 1000 scanned ports on 198.51.100.4 are in ignored states.\n" +
        "Not shown: 1000 filtered tcp ports (no-response)",
    ),
  );
});

Deno.test("renderTable colours states only when asked", () => {
  const plain = renderTable(report([HOST]), { color: false, reason: true });
  assert.ok(!plain.includes("\x1b"));
  const coloured = renderTable(report([HOST]), { color: true, reason: true });
  assert.ok(coloured.includes("\x1b[32mopen\x1b[0m"));
  assert.ok(coloured.includes("\x1b[31mclosed\x1b[0m"));
  assert.ok(coloured.includes("\x1b[33mfiltered\x1b[0m"));
  assert.ok(coloured.includes("\x1b[2msyn-ack\x1b[0m"));
  // Colour must not change the alignment.
  const strip = (s: string): string => s.replaceAll(new RegExp("\x1b\\[\\d+m", "g"), "");
  assert.equal(strip(coloured), plain);
});

Deno.test("renderTable escapes network text", () => {
  const evil: HostReport = {
    ...HOST,
    hostnames: ["x\x1b]0;pwned\x07"],
    ports: [{
      ...HOST.ports[0]!,
      service: { name: "ss\x1b[31mh", product: "Open\x00SSH", version: "9\x7f", extraInfo: "\r" },
    }],
    extraports: [],
  };
  const text = renderTable(report([evil]), { color: true, reason: true });
  const controls = [...text].filter((c) => {
    const code = c.charCodeAt(0);
    return (code < 0x20 && c !== "\n") || (code >= 0x7f && code <= 0x9f);
  });
  // Only the escape bytes of our own colour codes remain.
  assert.equal(controls.length, text.split("\x1b[").length - 1);
  assert.ok(text.includes("x\\x1b]0;pwned\\x07 (198.51.100.2)"));
  assert.ok(text.includes("ss\\x1b[31mh"));
  assert.ok(text.includes("Open\\x00SSH 9\\x7f (\\x0d)"));
  assert.ok(text.includes("VERSION"));
});

Deno.test("table folds more than 25 filtered ports into the Not shown line", () => {
  const ports = Array.from({ length: 30 }, (_, i) => ({
    address: "198.51.100.2",
    protocol: "tcp" as const,
    port: 1000 + i,
    state: "filtered" as const,
    reason: i === 0 ? "admin-prohibited" : "no-response",
  }));
  const report = {
    scanner: "portolan" as const,
    version: "0.0.0",
    args: [],
    start: "",
    end: "",
    scaninfo: [{ type: "connect", protocol: "tcp" as const, numServices: 31, services: "" }],
    hosts: [{
      address: "198.51.100.2",
      hostnames: [],
      state: "up" as const,
      reason: "syn-ack",
      ports: [
        {
          address: "198.51.100.2",
          protocol: "tcp" as const,
          port: 22,
          state: "open" as const,
          reason: "syn-ack",
        },
        ...ports,
      ],
      extraports: [],
    }],
    stats: { probes: 31, retries: 0, seconds: 1, hostsUp: 1, hostsDown: 0, hostsTotal: 1 },
  };
  const text = renderTable(report, { color: false, reason: false });
  assert.match(
    text,
    /Not shown: 30 filtered tcp ports \(no-response: 29, admin-prohibited: 1\)|Not shown: 30 filtered/,
  );
  assert.match(text, /22\/tcp +open/);
  assert.doesNotMatch(text, /1000\/tcp/);
});

Deno.test("renderTable names a service found inside TLS as nmap does: ssl/http", () => {
  const host: HostReport = {
    ...HOST,
    ports: [{
      ...HOST.ports[0]!,
      port: 443,
      service: { name: "http", product: "nginx", tunnel: "ssl" },
    }],
    extraports: [],
  };
  const text = renderTable(report([host]), { color: false, reason: false });
  assert.match(text, /^443\/tcp open {2}ssl\/http nginx$/m);
});

Deno.test("the table comes in pieces: one a shown host, then the summary", () => {
  const other: HostReport = { ...HOST, address: "198.51.100.3" };
  const down: HostReport = { ...HOST, address: "198.51.100.4", state: "down", ports: [] };
  const chunks = [...tableChunks(report([HOST, other, down]), { color: false, reason: false })];
  assert.equal(chunks.length, 3);
  assert.match(chunks[0]!, /^portolan scan report for 198\.51\.100\.2/);
  assert.match(chunks[1]!, /^\nportolan scan report for 198\.51\.100\.3/);
  assert.match(chunks[2]!, /^\nportolan done: /);
});

Deno.test("renderTable names unprobed ports from the table, with '?' where -sV found nothing", () => {
  const names = new Map([["22/tcp", "ssh"], ["443/tcp", "https"], ["8080/tcp", "http-proxy"]]);
  const open = { ...HOST.ports[2]!, state: "open" as const, reason: "syn-ack" };
  const host = { ...HOST, ports: [HOST.ports[0]!, HOST.ports[1]!, open] };
  const plain = renderTable(report([host]), { color: false, reason: false, serviceNames: names });
  const lines = (text: string): string[] => text.split("\n");
  assert.ok(lines(plain).includes("443/tcp  closed https"), plain);
  assert.ok(lines(plain).includes("8080/tcp open   http-proxy"), plain);
  const probed = renderTable(report([host]), {
    color: false,
    reason: false,
    serviceNames: names,
    serviceDetection: true,
  });
  // The probed name stands; the closed port was not probed: no mark.
  assert.ok(lines(probed).includes("22/tcp   open   ssh"), probed);
  assert.ok(lines(probed).includes("443/tcp  closed https"), probed);
  assert.ok(lines(probed).includes("8080/tcp open   http-proxy?"), probed);
});
