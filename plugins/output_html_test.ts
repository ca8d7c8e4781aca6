import assert from "node:assert/strict";
import { HOSTILE, rawControls, runOutput, sampleScan } from "../src/plugin_testing/mod.ts";
import { htmlChunks, htmlOutput, toHtml } from "./output_html.ts";

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

function between(html: string, open: string, close: string): string[] {
  return html.split(open).slice(1).map((part) => part.slice(0, part.indexOf(close)));
}

Deno.test("html report: charts, host map, sortable table, certificates", async () => {
  const html = await runOutput(htmlOutput(), sampleScan().events);
  assert.ok(html.startsWith("<!DOCTYPE html>\n"));
  assert.ok(html.trimEnd().endsWith("</html>"));
  // Hosts × ports: 3 hosts that are not down × the 8 ports listed on any of them.
  const map = between(html, '<svg id="host-map"', "</svg>")[0]!;
  assert.equal(map.match(/<rect class="cell"/g)?.length, 24);
  assert.match(
    map,
    /data-state="open" [^>]*fill="#2e7d32"><title>198\.51\.100\.2 22: open ssh<\/title>/,
  );
  assert.match(map, /<title>198\.51\.100\.1 22: not shown<\/title>/);
  const states = between(html, '<svg id="state-chart"', "</svg>")[0]!;
  assert.deepEqual(
    [...states.matchAll(/<title>([^<]+)<\/title>/g)].map((m) => m[1]),
    ["open: 5", "filtered: 41", "closed: 58"],
  );
  const services = between(html, '<svg id="service-chart"', "</svg>")[0]!;
  assert.deepEqual(
    [...services.matchAll(/<title>([^<]+)<\/title>/g)].map((m) => m[1]),
    ["http: 1", "http-proxy: 1", "https: 1", "ssh: 1", "unknown: 1"],
  );
  const table = between(html, '<table id="port-table">', "</table>")[0]!;
  const rows = between(table, "<tr>", "</tr>");
  // The header row, then 3 + 4 + 1 listed ports (38 filtered ports are folded, as nmap does).
  assert.equal(rows.length, 1 + 8);
  assert.match(rows[0]!, /<th data-type="num">Port<\/th>/);
  assert.ok(rows.some((row) => row.includes("<td>OpenSSH 9.2p1 (protocol 2.0)</td>")));
  const certs = between(html, '<section id="certs">', "</section>")[0]!;
  assert.match(certs, /<tr class="soon"><td>198\.51\.100\.2:43<\/td><td>CN=web\.example<\/td>/);
  assert.match(certs, /<td>2025-01-20T00:00:00\.000Z<\/td><td>17 days<\/td>/);
});

Deno.test("html report has no certificate section without certificate data", async () => {
  const { report } = sampleScan();
  for (const host of report.hosts) {
    for (const port of host.ports) if (port.service) delete port.service.tls;
  }
  // A tls object without usable fields renders nothing either.
  report.hosts[1]!.ports[0]!.service = {
    name: "https",
    tls: {
      subject: "",
      issuer: "",
      sans: [],
      notBefore: "",
      notAfter: "",
      sha256: "",
      alpn: "h2",
      version: "TLSv1.3",
    },
  };
  const html = await toHtml(report);
  assert.ok(!html.includes('id="certs"'));
});

Deno.test("html report is self-contained and allows only its own style and script", async () => {
  const html = await toHtml(sampleScan().report);
  const csp = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/)?.[1];
  assert.ok(csp !== undefined, "CSP meta tag");
  assert.match(csp, /^default-src 'none'; /);
  assert.ok(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"));
  const scripts = between(html, "<script>", "</script>");
  const styles = between(html, "<style>", "</style>");
  assert.equal(scripts.length, 1);
  assert.equal(styles.length, 1);
  assert.ok(csp.includes(`script-src 'sha256-${await sha256(scripts[0]!)}'`));
  assert.ok(csp.includes(`style-src 'sha256-${await sha256(styles[0]!)}'`));
  // The CSP comes before anything it governs.
  assert.ok(html.indexOf("Content-Security-Policy") < html.indexOf("<style>"));
  assert.doesNotMatch(html, /\s(src|href)=|url\(|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  assert.doesNotMatch(html, /\sstyle=/, "inline style attributes would be blocked by the CSP");
});

Deno.test("html report escapes everything the network sent", async () => {
  const html = await runOutput(htmlOutput(), sampleScan({ hostile: true }).events);
  assert.deepEqual(rawControls(html, "\n"), []);
  assert.equal(html.match(/<script/g)?.length, 1, "only the report's own script");
  assert.ok(!html.includes("<img"));
  assert.ok(!html.includes("</title><script>"));
  assert.ok(!/[\u202e\ufffe]/.test(html));
  assert.ok(html.includes("&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(html.includes("onerror=&quot;alert(2)&quot;"));
  // The title is the report's own.
  assert.deepEqual(between(html, "<title>portolan", "</title>"), [" scan report"]);
  // A 100 KB banner is folded behind its first characters, and cut inside.
  assert.match(
    html,
    /<td><details><summary>[^<]{1,200}…<\/summary><pre class="banner">[^<]*… \[\d+ more characters\]<\/pre><\/details><\/td>/,
  );
  assert.ok(html.length < 60_000, `report size ${html.length}`);
  assert.ok(HOSTILE.includes("<script>"));
});

Deno.test("html report limits bound the picture and the table", async () => {
  const html = await toHtml(sampleScan().report, {
    limits: { mapHosts: 1, mapPorts: 2, tableRows: 3 },
  });
  const map = between(html, '<svg id="host-map"', "</svg>")[0]!;
  assert.equal(map.match(/<rect class="cell"/g)?.length, 2);
  assert.match(html, /Drawn: 1 of 3 hosts, 2 of 8 ports\./);
  assert.match(html, /Listed: the first 3 of 8 ports\./);
});

Deno.test("html report of an interrupted scan says so", async () => {
  const html = await toHtml(sampleScan().report, { interrupted: true });
  assert.match(html, /interrupted: these results are partial/);
});

Deno.test("html report is written a host at a time, the same page as toHtml", async () => {
  const { report } = sampleScan();
  const host = report.hosts.find((h) => h.ports.length > 0)!;
  // 40 copies of a host with ports, each its own address.
  report.hosts = Array.from(
    { length: 40 },
    (_, i) => ({ ...host, address: `198.51.100.${i + 1}` }),
  );
  const chunks: string[] = [];
  for await (const chunk of htmlChunks(report)) chunks.push(chunk);
  assert.equal(chunks.join(""), await toHtml(report));
  const rows = (chunk: string): Set<string> =>
    new Set([...chunk.matchAll(/<tr><td(?: data-sort="[^"]*")?>([^<]+)<\/td>/g)].map((m) => m[1]!));
  // Every host's rows, in the host table and in the port table, come in chunks of their own.
  assert.ok(chunks.length >= 80, `${chunks.length} chunks`);
  assert.ok(chunks.every((chunk) => rows(chunk).size <= 1));
});
