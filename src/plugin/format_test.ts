import assert from "node:assert/strict";
import type { HostReport, PortResult, ServiceMatch } from "../model/mod.ts";
import {
  addressType,
  commandArgs,
  csvCell,
  escapeControls,
  escapeHtml,
  escapeTerminal,
  escapeXml,
  groupPorts,
  nmapPortLayout,
  versionLine,
} from "./format.ts";

Deno.test("escapeControls makes every control and reordering character visible", () => {
  assert.equal(
    escapeControls("a\0b\x1b[2J\t\r\n\x7f\x85"),
    "a\\x00b\\x1b[2J\\x09\\x0d\\x0a\\x7f\\x85",
  );
  assert.equal(escapeControls("\u202eabc\u2066\u2028"), "\\u{202e}abc\\u{2066}\\u{2028}");
  // XML 1.0 forbids lone surrogates and U+FFFE/U+FFFF; pairs (emoji) stay.
  assert.equal(
    escapeControls("x\ud800y\udc00\ufffe\uffff🙂"),
    "x\\u{d800}y\\u{dc00}\\u{fffe}\\u{ffff}🙂",
  );
  assert.equal(escapeControls("héllo wörld"), "héllo wörld");
});

Deno.test("escapeXml and escapeHtml leave no markup character", () => {
  const text = `</title><script>alert('x')</script> & "q"`;
  const expected =
    "&lt;/title&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;";
  assert.equal(escapeXml(text), expected);
  assert.equal(escapeHtml(text), expected);
  assert.equal(escapeXml("&amp;"), "&amp;amp;");
  assert.equal(escapeXml("a\0b"), "a\\x00b");
});

Deno.test("csvCell quotes per RFC 4180 and defuses formulas", () => {
  assert.equal(csvCell("ssh"), "ssh");
  assert.equal(csvCell(22), "22");
  assert.equal(csvCell(undefined), "");
  assert.equal(csvCell("a,b"), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell(" pad"), '" pad"');
  assert.equal(csvCell("=1+1"), "'=1+1");
  assert.equal(csvCell("+1"), "'+1");
  assert.equal(csvCell("-1"), "'-1");
  assert.equal(csvCell("@SUM(A1)"), "'@SUM(A1)");
  assert.equal(csvCell('=HYPERLINK("http://x")'), `"'=HYPERLINK(""http://x"")"`);
  assert.equal(csvCell("a\r\nb"), "a\\x0d\\x0ab");
});

function port(number: number, state: PortResult["state"], reason: string): PortResult {
  return { address: "198.51.100.2", protocol: "tcp", port: number, state, reason };
}

Deno.test("nmapPortLayout folds states with more than 25 ports, never open ones", () => {
  const ports: PortResult[] = [];
  for (let p = 1; p <= 30; p++) {
    ports.push(port(p, "filtered", p % 2 ? "no-response" : "host-unreach"));
  }
  for (let p = 31; p <= 60; p++) ports.push(port(p, "open", "syn-ack"));
  ports.push(port(70, "closed", "conn-refused"));
  const host: HostReport = {
    address: "198.51.100.2",
    hostnames: [],
    state: "up",
    reason: "syn-ack",
    ports,
    extraports: [{
      state: "closed",
      count: 100,
      reasons: [{ reason: "conn-refused", count: 100 }],
    }],
  };
  const layout = nmapPortLayout(host);
  assert.equal(layout.ports.length, 30);
  assert.ok(layout.ports.every((p) => p.state === "open"));
  assert.deepEqual(layout.extraports.map((g) => [g.state, g.count]), [["closed", 101], [
    "filtered",
    30,
  ]]);
  const filtered = layout.extraports[1]!;
  assert.deepEqual(filtered.reasons, [
    { reason: "host-unreach", count: 15 },
    { reason: "no-response", count: 15 },
  ]);
  assert.equal(groupPorts(filtered, "no-response"), "1,3,5,7,9,11,13,15,17,19,21,23,25,27,29");
  // The closed ports were partly only counted, so no exact port list is claimed.
  assert.equal(groupPorts(layout.extraports[0]!, "conn-refused"), undefined);
  // A state with few ports stays listed.
  assert.equal(
    nmapPortLayout({ ...host, ports: ports.slice(0, 25), extraports: [] }).ports.length,
    25,
  );
  assert.equal(nmapPortLayout(host, { listLimit: 30 }).ports.length, 60);
});

Deno.test("versionLine, commandArgs and addressType", () => {
  assert.equal(versionLine({ product: "nginx" }), "nginx");
  assert.equal(
    versionLine({ product: "OpenSSH", version: "9.2p1", extraInfo: "protocol 2.0" }),
    "OpenSSH 9.2p1 (protocol 2.0)",
  );
  assert.equal(versionLine({ product: 5 } as unknown as ServiceMatch), "");
  assert.equal(versionLine(undefined), "");
  assert.deepEqual(commandArgs(["portolan", "-p", "22"]), ["portolan", "-p", "22"]);
  assert.deepEqual(commandArgs(["-p", "22"]), ["portolan", "-p", "22"]);
  assert.equal(addressType("2001:db8::1"), "ipv6");
  assert.equal(addressType("198.51.100.1"), "ipv4");
});

Deno.test("escapeTerminal makes every control character visible", () => {
  assert.equal(escapeTerminal("\x1b[31mred"), "\\x1b[31mred");
  assert.equal(escapeTerminal("a\x00b\x7fc\x9bd\r\n\t"), "a\\x00b\\x7fc\\x9bd\\x0d\\x0a\\x09");
  assert.equal(escapeTerminal("evil\u202etxt.exe"), "evil\\u{202e}txt.exe");
  assert.equal(escapeTerminal("plain café ✓"), "plain café ✓");
});
