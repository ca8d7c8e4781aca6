import assert from "node:assert/strict";
import { exists, mustRun, rawControls, runPlugin, runTool, sampleScan } from "./output_fixtures.ts";
import { toXml, xmlHost, xmlHostHints, xmlOutput } from "./output_xml.ts";

/** No nmap-services table: the output must not depend on what is installed. */
const NO_TABLE = { serviceNames: new Map<string, string>() };

const DTD = "/usr/share/nmap/nmap.dtd";
const XSL = "/usr/share/nmap/nmap.xsl";

/** xmllint and nmap.dtd are here, or CI demands them (and the test then fails loudly). */
const canValidate = mustRun() ||
  (exists(DTD) && (await runTool("xmllint", ["--version"])) !== undefined);
const canTransform = mustRun() ||
  (exists(XSL) && (await runTool("xsltproc", ["--version"])) !== undefined);

async function validate(xml: string): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/scan.xml`;
    await Deno.writeTextFile(path, xml);
    const result = await runTool("xmllint", ["--noout", "--dtdvalid", DTD, path]);
    assert.ok(result !== undefined, "xmllint is not installed (apt-get install libxml2-utils)");
    assert.equal(result.code, 0, `xmllint: ${result.stderr.slice(0, 2000)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("xml output maps the report onto nmap's elements", async () => {
  const { events } = sampleScan();
  const xml = await runPlugin(xmlOutput(NO_TABLE), events);
  assert.ok(xml.startsWith(`<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n`));
  assert.match(
    xml,
    /<nmaprun scanner="nmap" args="portolan -p 1-100 198\.51\.100\.0\/30 2001:db8::5" start="1735787045"/,
  );
  assert.match(xml, /version="0\.1\.0" xmloutputversion="1\.05">/);
  assert.match(
    xml,
    /<scaninfo type="connect" protocol="tcp" numservices="100" services="1-100"\/>/,
  );
  // Header once, even though it is written at "start" and the rest at "end".
  assert.equal(xml.match(/<nmaprun /g)?.length, 1);
  assert.ok(xml.endsWith("</runstats>\n</nmaprun>\n"));

  const hosts = xml.split("<host ").slice(1);
  assert.equal(hosts.length, 4);
  const [filtered, web, down, v6] = hosts as [string, string, string, string];
  assert.match(filtered, /<status state="up" reason="admin-prohibited" reason_ttl="0"\/>/);
  assert.match(
    filtered,
    /<port protocol="tcp" portid="3"><state state="filtered" reason="admin-prohibited"/,
  );

  assert.match(web, /<address addr="198\.51\.100\.2" addrtype="ipv4"\/>/);
  assert.match(web, /<hostname name="web\.example" type="user"\/>/);
  // 58 closed ports were only counted by the report; 38 filtered are folded as nmap does.
  assert.match(
    web,
    /<ports><extraports state="closed" count="58">\n<extrareasons reason="conn-refused" count="58" proto="tcp" ports="1-21,23-42,44-60"\/>/,
  );
  assert.match(
    web,
    /<extraports state="filtered" count="38">\n<extrareasons reason="no-response" count="38" proto="tcp" ports="61-79,81-98,100"\/>/,
  );
  assert.deepEqual([...web.matchAll(/portid="(\d+)"/g)].map((m) => Number(m[1])), [22, 43, 80, 99]);
  assert.match(
    web,
    /<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"\/><service name="ssh" product="OpenSSH" version="9\.2p1" extrainfo="protocol 2\.0" method="probed" conf="10"><cpe>cpe:\/a:openbsd:openssh:9\.2p1<\/cpe><\/service><\/port>/,
  );
  // The banner stays in JSON: nmap writes the banner script only when it was asked for.
  assert.doesNotMatch(xml, /<script/);
  assert.match(
    web,
    /portid="43">.*<service name="https" product="nginx" tunnel="ssl" method="probed"/,
  );
  assert.match(web, /portid="99"><state state="open" reason="syn-ack" reason_ttl="0"\/><\/port>/);

  assert.match(down, /<status state="down" reason="no-response"/);
  assert.doesNotMatch(down, /<ports>/);
  assert.match(v6, /<address addr="2001:db8::5" addrtype="ipv6"\/>/);
  assert.match(v6, /<service name="http-proxy" method="table" conf="3"\/>/);

  assert.match(
    xml,
    /<finished time="1735787047" timestr="[^"]+" summary="[^"]+" elapsed="2\.50" exit="success"\/>/,
  );
  assert.match(xml, /<hosts up="3" down="1" total="5"\/>/);
});

Deno.test("xml output of an interrupted scan says so in runstats", () => {
  const { report } = sampleScan();
  const xml = toXml(report, { interrupted: true });
  assert.match(xml, /exit="error" errormsg="Scan interrupted: results are partial"/);
});

Deno.test("xml output encodes hostile text: no raw control, no markup, no --", async () => {
  const { events } = sampleScan({ hostile: true });
  const xml = await runPlugin(xmlOutput(NO_TABLE), events);
  assert.deepEqual(rawControls(xml), []);
  assert.ok(!xml.includes("<script>"), "raw <script>");
  assert.ok(!xml.includes("<img"), "raw <img");
  assert.ok(xml.includes("&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(xml.includes("\\x1b[31mred\\x1b]0;title\\x07\\x00NUL\\x0d\\x0a"));
  // Characters XML 1.0 forbids or that reorder text are made visible.
  assert.ok(!/[\ufffe\u202e]/.test(xml));
  assert.ok(!/[\ud800-\udfff]/u.test(xml), "lone surrogate");
  assert.ok(xml.includes("\\u{202e}evil\\u{fffe}\\u{d800}"));
  // The comment holds the command line, whose "--" and "-->" must not end it.
  const comment = xml.split("\n")[3] ?? "";
  assert.match(comment, /^<!-- portolan .* -->$/);
  assert.ok(!comment.slice(4, -3).includes("--"), comment);
  // The 100 KB banner is JSON's, not the XML's.
  assert.ok(xml.length < 20_000, `${xml.length} bytes`);
});

Deno.test({
  name: canValidate
    ? "xml output is valid against nmap.dtd (xmllint), hostile text included"
    : "xml output is valid against nmap.dtd (skipped: xmllint or /usr/share/nmap/nmap.dtd missing)",
  ignore: !canValidate,
  async fn(): Promise<void> {
    await validate(await runPlugin(xmlOutput(NO_TABLE), sampleScan().events));
    await validate(await runPlugin(xmlOutput(NO_TABLE), sampleScan({ hostile: true }).events));
    const { report } = sampleScan();
    await validate(toXml({ ...report, hosts: [] }, { interrupted: true }));
  },
});

Deno.test({
  name: canValidate
    ? "xml validation catches a broken document (the check can fail)"
    : "xml validation catches a broken document (skipped: xmllint or nmap.dtd missing)",
  ignore: !canValidate,
  async fn(): Promise<void> {
    const xml = toXml(sampleScan().report).replace('scanner="nmap"', 'scanner="portolan"');
    await assert.rejects(() => validate(xml), /xmllint/);
  },
});

Deno.test({
  name: canTransform
    ? "nmap.xsl renders the xml output (xsltproc)"
    : "nmap.xsl renders the xml output (skipped: xsltproc or /usr/share/nmap/nmap.xsl missing)",
  ignore: !canTransform,
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/scan.xml`, toXml(sampleScan({ hostile: true }).report));
      const result = await runTool("xsltproc", ["-o", `${dir}/scan.html`, XSL, `${dir}/scan.xml`]);
      assert.ok(result !== undefined, "xsltproc is not installed (apt-get install xsltproc)");
      assert.equal(result.code, 0, result.stderr);
      const html = await Deno.readTextFile(`${dir}/scan.html`);
      assert.match(html, /198\.51\.100\.2/);
      assert.match(html, /OpenSSH|calc/);
      assert.match(html, />22</);
      assert.ok(!html.includes("<script>alert(1)"), "hostile markup came through nmap.xsl");
      assert.deepEqual(rawControls(html, "\n\r\t"), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("xml -sn: no <ports>, no host times; the answer's TTL, MAC with vendor, <times>", () => {
  const { report } = sampleScan();
  const host = {
    ...report.hosts[1]!,
    reason: "echo-reply",
    reasonTtl: 64,
    rtt: 0.044,
    mac: "00:50:f2:01:02:03",
    ports: [],
    extraports: [],
  };
  const xml = xmlHost(host, { ...report, args: ["portolan", "-sn"], scaninfo: [] }, {
    macVendors: new Map([["0050F2", "Microsoft"]]),
  });
  assert.equal(
    xml,
    [
      '<host><status state="up" reason="echo-reply" reason_ttl="64"/>',
      '<address addr="198.51.100.2" addrtype="ipv4"/>',
      '<address addr="00:50:F2:01:02:03" addrtype="mac" vendor="Microsoft"/>',
      "<hostnames>",
      '<hostname name="web.example" type="user"/>',
      "</hostnames>",
      '<times srtt="44" rttvar="22" to="100000"/>',
      "</host>",
      "",
    ].join("\n"),
  );
  // A port scan after discovery: nmap's <hosthint> for the host found up.
  const hints = xmlHostHints({ ...report, hosts: [host] });
  assert.match(hints, /^<hosthint><status state="up" reason="echo-reply" reason_ttl="64"\/>\n/);
  assert.match(hints, /<\/hosthint>\n$/);
});

Deno.test("xml output names unprobed services from the nmap-services table, as nmap does", async () => {
  const serviceNames = new Map([["99/tcp", "metagram"], ["22/tcp", "not-used"]]);
  const xml = await runPlugin(xmlOutput({ serviceNames }), sampleScan().events);
  assert.match(
    xml,
    /portid="99"><state [^>]+\/><service name="metagram" method="table" conf="3"\/><\/port>/,
  );
  // A probed name wins over the table.
  assert.match(xml, /portid="22">.*<service name="ssh" /);
});
