import assert from "node:assert/strict";
import { csvOutput, toCsv } from "./output_csv.ts";
import { HOSTILE, rawControls, runOutput, sampleScan } from "../src/plugin_testing/mod.ts";

/** A small RFC 4180 reader: fields, quotes, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      row.push(field);
      field = "";
    } else if (char === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += char;
  }
  assert.equal(field, "", "text after the last record");
  return rows;
}

Deno.test("csv output writes a header and one row per listed port", async () => {
  const text = await runOutput(csvOutput(), sampleScan().events);
  const rows = parseCsv(text);
  assert.deepEqual(rows[0], [
    "address",
    "hostname",
    "protocol",
    "port",
    "state",
    "reason",
    "service",
    "product",
    "version",
  ]);
  // 3 filtered, 4 open + 38 filtered (the report lists every filtered port), 1 on IPv6.
  assert.equal(rows.length, 1 + 3 + 42 + 1);
  assert.deepEqual(rows.find((row) => row[3] === "22"), [
    "198.51.100.2",
    "web.example",
    "tcp",
    "22",
    "open",
    "syn-ack",
    "ssh",
    "OpenSSH",
    "9.2p1",
  ]);
  assert.deepEqual(rows.at(-1), [
    "2001:db8::5",
    "",
    "tcp",
    "8080",
    "open",
    "syn-ack",
    "http-proxy",
    "",
    "",
  ]);
  assert.ok(text.endsWith("\r\n"));
});

Deno.test("csv output guards against formula injection and control bytes", async () => {
  const text = await runOutput(csvOutput(), sampleScan({ hostile: true }).events);
  assert.deepEqual(rawControls(text, "\r\n"), []);
  const rows = parseCsv(text);
  // Every record has nine fields, whatever the network sent.
  for (const row of rows) assert.equal(row.length, 9, row.join("|").slice(0, 200));
  const ssh = rows.find((row) => row[3] === "22")!;
  assert.ok(ssh[7]!.startsWith("'=cmd|' /C calc'!A0"), ssh[7]);
  for (const row of rows.slice(1)) {
    for (const cell of row) assert.doesNotMatch(cell, /^[=+\-@]/, cell.slice(0, 80));
  }
  const http = rows.find((row) => row[3] === "80")!;
  assert.ok(http[6]!.includes("</title><script>alert(1)</script>"));
  assert.ok(!HOSTILE.startsWith("=") && http[6]!.startsWith("http\\x1b[31mred"));
});

Deno.test("csv cells that start with a sign are quoted as text, numbers are not", () => {
  const { report } = sampleScan();
  const host = report.hosts[1]!;
  host.hostnames = ["-cmd", "+1", "@SUM(A1)"];
  const line = toCsv(report).split("\r\n").find((row) => row.includes(",22,"))!;
  assert.ok(line.startsWith("198.51.100.2,'-cmd +1 @SUM(A1),tcp,22,"), line);
});

Deno.test("csv and html name a service found inside TLS as the terminal does: ssl/http", async () => {
  const { report } = sampleScan();
  const port = report.hosts[1]!.ports.find((p) => p.port === 43)!;
  port.service = { name: "http", product: "nginx", tunnel: "ssl" };
  const rows = parseCsv(toCsv(report));
  assert.deepEqual(rows.find((row) => row[3] === "43")?.slice(6), ["ssl/http", "nginx", ""]);
  const { toHtml } = await import("./output_html.ts");
  assert.match(await toHtml(report), /<td>43<\/td>.*<td>ssl\/http<\/td>/);
});
