import assert from "node:assert/strict";
import { diffReports, formatDiff } from "./diff.ts";
import { openHistory } from "./db.ts";
import { loadScan } from "./history.ts";
import { parseNmapXml, parseXml, type XmlElement } from "./nmap_xml.ts";
import { importReport } from "./record.ts";
import { readReportFile } from "./report_file.ts";

const SAMPLE = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<?xml-stylesheet href="file:///usr/share/nmap/nmap.xsl" type="text/xsl"?>
<!-- Nmap 7.94 scan initiated as: nmap -sT -sV -p 1-1000 198.51.100.2 -->
<nmaprun scanner="nmap" args="nmap -sT -sV -p 1-1000 --script ssl-cert &quot;198.51.100.2&quot;" start="1893456000" version="7.94" xmloutputversion="1.05">
<scaninfo type="connect" protocol="tcp" numservices="1000" services="1-1000"/>
<verbose level="0"/>
<host starttime="1893456000" endtime="1893456010"><status state="up" reason="syn-ack" reason_ttl="0"/>
<address addr="00:11:22:33:44:55" addrtype="mac" vendor="Acme &amp; Co"/>
<address addr="198.51.100.2" addrtype="ipv4"/>
<hostnames>
<hostname name="www.example" type="user"/>
<hostname name="www.example" type="PTR"/>
</hostnames>
<ports><extraports state="closed" count="996">
<extrareasons reason="conn-refused" count="990" proto="tcp" ports="1-20"/>
<extrareasons reason="reset" count="6"/>
</extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="ssh" product="OpenSSH" version="9.6p1 Ubuntu 3" extrainfo="Ubuntu Linux; protocol 2.0" ostype="Linux" method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh:9.6p1</cpe><cpe>cpe:/o:linux:linux_kernel</cpe></service></port>
<port protocol="tcp" portid="443"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="http" product="nginx" version="1.24.0" tunnel="ssl" method="probed" conf="10"><cpe>cpe:/a:igor_sysoev:nginx:1.24.0</cpe></service><script id="ssl-cert" output="Subject: commonName=www.example&#xa;Not valid after:  2031-01-01T00:00:00"><table key="subject">
<elem key="commonName">www.example</elem>
</table>
<table key="validity">
<elem key="notBefore">2030-01-01T00:00:00</elem>
<elem key="notAfter">2031-01-01T00:00:00</elem>
</table>
<elem key="md5">0123</elem>
<elem key="sha1">aabbccdd</elem>
</script></port>
<port protocol="tcp" portid="999"><state state="weird" reason="?"/></port>
<port protocol="udp" portid="53"><state state="open|filtered" reason="no-response" reason_ttl="0"/><service name="domain" method="table" conf="3"/></port>
</ports>
<times srtt="205" rttvar="2891" to="100000"/>
</host>
<host><status state="down" reason="no-response"/><address addr="2001:db8::9" addrtype="ipv6"/></host>
<runstats><finished time="1893456010" timestr="x" elapsed="10.25" exit="success"/><hosts up="1" down="1" total="2"/>
</runstats>
</nmaprun>
`;

Deno.test("parseNmapXml: a hand-written nmap report, every field it knows", () => {
  const report = parseNmapXml(SAMPLE, "sample.xml");
  assert.deepEqual(report.args, [
    "nmap",
    "-sT",
    "-sV",
    "-p",
    "1-1000",
    "--script",
    "ssl-cert",
    "198.51.100.2",
  ]);
  assert.equal(report.version, "7.94");
  assert.equal(report.start, "2030-01-01T00:00:00.000Z");
  assert.equal(report.end, "2030-01-01T00:00:10.000Z");
  assert.deepEqual(report.scaninfo, [{
    type: "connect",
    protocol: "tcp",
    numServices: 1000,
    services: "1-1000",
  }]);
  assert.deepEqual(report.stats, {
    probes: 0,
    retries: 0,
    seconds: 10.25,
    hostsUp: 1,
    hostsDown: 1,
    hostsTotal: 2,
  });
  assert.equal(report.hosts.length, 2);
  const [up, down] = report.hosts;
  assert.deepEqual(down, {
    address: "2001:db8::9",
    hostnames: [],
    state: "down",
    reason: "no-response",
    ports: [],
    extraports: [],
  });
  assert.equal(up?.address, "198.51.100.2");
  assert.deepEqual(up?.hostnames, ["www.example"]);
  assert.deepEqual(up?.extraports, [{
    state: "closed",
    count: 996,
    reasons: [{ reason: "conn-refused", count: 990 }, { reason: "reset", count: 6 }],
  }]);
  assert.deepEqual(up?.ports, [
    {
      address: "198.51.100.2",
      protocol: "tcp",
      port: 22,
      state: "open",
      reason: "syn-ack",
      reasonTtl: 64,
      service: {
        name: "ssh",
        product: "OpenSSH",
        version: "9.6p1 Ubuntu 3",
        extraInfo: "Ubuntu Linux; protocol 2.0",
        ostype: "Linux",
        method: "probed",
        cpe: ["cpe:/a:openbsd:openssh:9.6p1", "cpe:/o:linux:linux_kernel"],
      },
    },
    {
      address: "198.51.100.2",
      protocol: "tcp",
      port: 443,
      state: "open",
      reason: "syn-ack",
      reasonTtl: 64,
      service: {
        name: "http",
        product: "nginx",
        version: "1.24.0",
        tunnel: "ssl",
        method: "probed",
        cpe: ["cpe:/a:igor_sysoev:nginx:1.24.0"],
        certificate: {
          fingerprint: "aabbccdd",
          subject: "CN=www.example",
          notAfter: "2031-01-01T00:00:00",
        },
      },
      scripts: [{
        id: "ssl-cert",
        output: "Subject: commonName=www.example\nNot valid after:  2031-01-01T00:00:00",
      }],
    },
    {
      address: "198.51.100.2",
      protocol: "udp",
      port: 53,
      state: "open|filtered",
      reason: "no-response",
      reasonTtl: 0,
      service: { name: "domain", method: "table" },
    },
  ]);
});

Deno.test("parseNmapXml: a file cut short by an interrupted scan still reads, unfinished", () => {
  const cut = SAMPLE.slice(0, SAMPLE.indexOf('<port protocol="tcp" portid="443">') + 40);
  const report = parseNmapXml(cut, "cut.xml");
  assert.equal(report.end, "");
  assert.deepEqual(report.hosts[0]?.ports.map((p) => p.port), [22]);
  assert.equal(report.stats.hostsTotal, 1);
});

Deno.test("parseNmapXml: not nmap XML is a SyntaxError naming the file", () => {
  assert.throws(
    () => parseNmapXml("<html><body>hi</body></html>", "page.html"),
    (error: unknown) =>
      error instanceof SyntaxError &&
      error.message ===
        `Cannot parse report "page.html": not an nmap XML file (no <nmaprun> element)`,
  );
});

Deno.test("parseXml: quotes, entities, CDATA, stray and missing end tags", () => {
  const doc = parseXml(
    `<a x='1 > 2' y="&lt;&#65;&#x42;&bogus;"><b>t&amp;<![CDATA[<raw>]]></b></c><d/><e>`,
  );
  const a = doc.children[0];
  assert.equal(a?.name, "a");
  assert.deepEqual(a?.attrs, { x: "1 > 2", y: "<AB&bogus;" });
  assert.deepEqual(a?.children.map((c) => c.name), ["b", "d", "e"]);
  assert.equal(a?.children[0]?.text, "t&<raw>");
});

async function nmapAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command("nmap", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

const HAVE_NMAP = await nmapAvailable();
const MUST_RUN = Deno.env.get("CI") === "true";

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function nmapXml(ports: number[]): Promise<string> {
  const out = await new Deno.Command("nmap", {
    args: [
      "-sT",
      "-Pn",
      "-n",
      "--max-retries",
      "1",
      "--host-timeout",
      "60s",
      "-p",
      ports.join(","),
      "-oX",
      "-",
      "127.0.0.1",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test({
  name: HAVE_NMAP || MUST_RUN
    ? "parseNmapXml: real nmap -sT XML against loopback listeners, recorded and diffed"
    : "parseNmapXml: real nmap -sT XML (ignored: nmap not installed)",
  ignore: !HAVE_NMAP && !MUST_RUN,
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir({ prefix: "portolan_store_" });
    const first = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const second = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    let third: Deno.Listener | undefined;
    try {
      const open = [(first.addr as Deno.NetAddr).port, (second.addr as Deno.NetAddr).port];
      const later = freePort();
      const ports = [...open, later].sort((x, y) => x - y);

      await Deno.writeTextFile(`${dir}/a.xml`, await nmapXml(ports));
      third = Deno.listen({ hostname: "127.0.0.1", port: later });
      await Deno.writeTextFile(`${dir}/b.xml`, await nmapXml(ports));

      const a = await readReportFile(`${dir}/a.xml`);
      const b = await readReportFile(`${dir}/b.xml`);
      assert.match(a.args[0] ?? "", /(^|\/)nmap$/);
      assert.notEqual(a.end, "");
      assert.equal(a.hosts.length, 1);
      assert.equal(a.hosts[0]?.address, "127.0.0.1");
      assert.equal(a.hosts[0]?.state, "up");
      const stateOf = (report: typeof a, port: number): string | undefined => {
        const listed = report.hosts[0]?.ports.find((p) => p.port === port);
        return listed?.state ?? report.hosts[0]?.extraports[0]?.state;
      };
      for (const port of open) assert.equal(stateOf(a, port), "open");
      assert.equal(stateOf(a, later), "closed");
      assert.equal(stateOf(b, later), "open");

      // Through the history and back, the diff names exactly the new listener.
      const db = openHistory(`${dir}/h.db`);
      const ia = importReport(db, a, { targets: "127.0.0.1" });
      const ib = importReport(db, b, { targets: "127.0.0.1" });
      const diff = diffReports(loadScan(db, ia), loadScan(db, ib));
      db.close();
      assert.deepEqual(diff.summary, {
        newHosts: 0,
        goneHosts: 0,
        newPorts: 1,
        gonePorts: 0,
        changedPorts: 0,
        unscannedPorts: 0,
      });
      assert.deepEqual(diff.hosts.map((h) => h.ports.map((p) => [p.port, p.change])), [[[
        later,
        "new",
      ]]]);
      // nmap names ports from its services table; the diff shows that name when there is one.
      const named = b.hosts.flatMap((h) => h.ports).find((p) => p.port === later)?.service?.name;
      const name = typeof named === "string" && named !== "" ? `${named} +` : "";
      assert.match(
        formatDiff(diff, { header: false }),
        new RegExp(`\\+ ${later}/tcp +open +${name}\\(new\\)`),
      );
    } finally {
      first.close();
      second.close();
      third?.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("parseXml: hostile nesting is kept flat past a fixed depth (linear, no deep recursion)", () => {
  const levels = 200_000;
  const doc = parseXml("<a>".repeat(levels) + "x" + "</a>".repeat(levels) + "</b>".repeat(1000));
  let depth = 0;
  let count = 0;
  const todo: [XmlElement, number][] = [[doc, 0]];
  while (todo.length > 0) {
    const [element, at] = todo.pop()!;
    depth = Math.max(depth, at);
    count++;
    for (const c of element.children) todo.push([c, at + 1]);
  }
  assert.equal(count, levels + 1, "every element kept");
  assert.ok(depth <= 258, `tree depth ${depth}`);
  // A report under a deep wrapper still reads.
  const wrapped = "<x>".repeat(300) +
    `<nmaprun scanner="nmap" start="0"><host><address addr="198.51.100.9"/></host></nmaprun>`;
  assert.throws(() => parseNmapXml("<nmaprun><a>" + "<b>".repeat(1000) + "</nmaprun>", "d.xml"));
  assert.doesNotThrow(() => parseNmapXml(wrapped, "w.xml"));
});

Deno.test("parseNmapXml keeps each port's script output, line breaks decoded", () => {
  const xml =
    `<?xml version="1.0"?><nmaprun scanner="nmap" args="nmap -sC" start="1" version="7.93">
<scaninfo type="connect" protocol="tcp" numservices="1" services="22"/>
<host><status state="up" reason="syn-ack"/><address addr="198.51.100.2" addrtype="ipv4"/>
<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/>
<service name="ssh" method="table" conf="3"/>
<script id="ssh-hostkey" output="&#xa;  256 aa (ECDSA)&#xa;  256 bb (ED25519)"/>
<script id="banner" output="SSH-2.0-x"/></port></ports></host>
<runstats><finished time="2"/><hosts up="1" down="0" total="1"/></runstats></nmaprun>`;
  const port = parseNmapXml(xml, "n.xml").hosts[0]?.ports[0];
  assert.deepEqual(port?.scripts, [
    { id: "ssh-hostkey", output: "\n  256 aa (ECDSA)\n  256 bb (ED25519)" },
    { id: "banner", output: "SSH-2.0-x" },
  ]);
});

Deno.test("parseNmapXml: a <service> attribute that is not nmap's word is dropped", () => {
  const xml = (service: string): string =>
    `<?xml version="1.0"?><nmaprun scanner="nmap" args="nmap -sV" start="1" version="7.93">
<scaninfo type="connect" protocol="tcp" numservices="1" services="443"/>
<host><status state="up" reason="syn-ack"/><address addr="198.51.100.2" addrtype="ipv4"/>
<ports><port protocol="tcp" portid="443"><state state="open" reason="syn-ack"/>${service}</port></ports></host>
<runstats><finished time="2"/><hosts up="1" down="0" total="1"/></runstats></nmaprun>`;
  const service = (text: string): unknown =>
    parseNmapXml(xml(text), "s.xml").hosts[0]?.ports[0]?.service;
  assert.deepEqual(
    service(
      `<service name="https" method="guessed" tunnel="tls" hostname="web" devicetype="" conf="x"/>`,
    ),
    { name: "https", hostname: "web" },
  );
  assert.deepEqual(service(`<service name="https" method="probed" tunnel="ssl"/>`), {
    name: "https",
    method: "probed",
    tunnel: "ssl",
  });
  assert.equal(service(`<service method="guessed" tunnel="tls"/>`), undefined);
});
