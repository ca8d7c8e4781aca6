/**
 * The same lab scan by nmap and by portolan, fed to tools that read nmap's
 * files and that nobody here wrote: ndiff (text and --xml), python3-libnmap,
 * Nmap::Parser (libnmap-parser-perl), nmap.xsl through xsltproc, xmllint
 * against nmap.dtd, and an -oN / -oG reader written for nmap's text. Each
 * must see the same hosts, ports, states, reasons and service names in both.
 */

import assert from "node:assert/strict";
import { mustRun, runTool } from "../plugins/output_fixtures.ts";
import { type Lab, labRequired, labTest, startLab } from "./lab/lab.ts";
import { DAEMON_PACKAGES, missingDaemons } from "./lab/services.ts";
import { portolan } from "./helpers.ts";

const DTD = "/usr/share/nmap/nmap.dtd";
const XSL = "/usr/share/nmap/nmap.xsl";
/** Debian's interpreter: python3-libnmap is installed for it, not for any other python3. */
const PYTHON = "/usr/bin/python3";

/** The consumers and the Debian packages that bring them. */
const TOOLS: Record<string, { args: string[]; package: string }> = {
  nmap: { args: ["--version"], package: "nmap" },
  ndiff: { args: ["--help"], package: "ndiff" },
  xmllint: { args: ["--version"], package: "libxml2-utils" },
  xsltproc: { args: ["--version"], package: "xsltproc" },
  [PYTHON]: { args: ["-c", "import libnmap.parser"], package: "python3-libnmap" },
  perl: { args: ["-MNmap::Parser", "-e", "1"], package: "libnmap-parser-perl" },
};

async function missingTools(): Promise<string[]> {
  const missing: string[] = [];
  for (const [tool, check] of Object.entries(TOOLS)) {
    const result = await runTool(tool, check.args);
    if (result === undefined || result.code !== 0) missing.push(check.package);
  }
  return missing;
}

const missing = await missingTools();

/** A lab test that needs the consumers: ignored with the reason off CI, failing on CI. */
function consumerTest(
  name: string,
  needs: { daemons?: boolean },
  fn: (t: Deno.TestContext) => Promise<void>,
): void {
  const absent = [
    ...missing,
    ...(needs.daemons ? missingDaemons().length > 0 ? DAEMON_PACKAGES : [] : []),
  ];
  if (absent.length > 0 && !mustRun() && !labRequired) {
    Deno.test({
      name: `lab: ${name} (skipped: apt-get install ${absent.join(" ")})`,
      ignore: true,
      fn,
    });
    return;
  }
  labTest(name, fn);
}

/** Runs nmap and portolan with the same arguments from the scanner namespace: -oA BASE each. */
async function scanBoth(
  lab: Lab,
  dir: string,
  args: string[],
  target: string = lab.target4,
): Promise<{ nmap: string; ours: string }> {
  const tag = target.includes(":") ? "-v6" : "";
  const nmap = await lab.run(["nmap", ...args, "-oA", `${dir}/nmap${tag}`, target], {
    timeout: 180_000,
  });
  assert.equal(nmap.code, 0, `nmap: ${nmap.stderr}`);
  const ours = await portolan([...args, "--no-db", "-oA", `${dir}/ours${tag}`, target], {
    prefix: ["ip", "netns", "exec", lab.scanNs],
    timeoutMs: 180_000,
  });
  assert.equal(ours.code, 0, `portolan: ${ours.stderr}`);
  return { nmap: `${dir}/nmap${tag}`, ours: `${dir}/ours${tag}` };
}

async function tool(command: string, args: string[]): Promise<{ code: number; stdout: string }> {
  const result = await runTool(command, args);
  assert.ok(result !== undefined, `${command} is not installed`);
  return result;
}

/** python3-libnmap's view: (address, mac, port, protocol, state, reason, service, product) per port. */
const LIBNMAP = `
import json, sys
from libnmap.parser import NmapParser
report = NmapParser.parse_fromfile(sys.argv[1])
rows = []
for host in report.hosts:
    for s in host.services:
        rows.append([host.address, host.mac, s.port, s.protocol, s.state, s.reason, s.service,
                     s.service_dict.get("product")])
print(json.dumps({"up": report.hosts_up, "total": report.hosts_total, "rows": rows}))
`;

/** Nmap::Parser's view: address, MAC, and port/state/service of every TCP port. */
const NMAP_PARSER = `
use Nmap::Parser;
my $np = new Nmap::Parser;
$np->parsefile($ARGV[0]);
for my $h ($np->all_hosts()) {
  for my $p ($h->tcp_ports()) {
    my $s = $h->tcp_service($p);
    print join("\\t", $h->addr, $h->mac_addr, $p, $h->tcp_port_state($p), $s->name), "\\n";
  }
}
`;

/**
 * A reader written for nmap's -oN, as the -oN to CSV converters are: a host
 * starts at "Nmap scan report for", a port row is "N/proto state service …".
 */
const NORMAL_READER = `
/^Nmap scan report for / { host = $NF; gsub(/[()]/, "", host); hosts++ }
/^[0-9]+\\/(tcp|udp) / { print host "," $1 "," $2 "," $3 }
/^MAC Address: / { print host ",mac," $3 }
/^# Nmap done at / { done = 1 }
END { print "hosts," hosts ",done," done }
`;

/** A reader of nmap's -oG: hosts counted by "Host:" lines, ports split on ", " and "/". */
const GREPABLE_READER = `
BEGIN { FS = "\\t" }
/^Host: / { lines++ }
/\\tPorts: / {
  split($0, head, " "); host = head[2]
  for (i = 1; i <= NF; i++) if ($i ~ /^Ports: /) {
    n = split(substr($i, 8), ports, ", ")
    for (j = 1; j <= n; j++) { split(ports[j], f, "/"); print host "," f[1] "," f[2] "," f[3] "," f[5] }
  }
}
/^# Nmap done at / { done = 1 }
END { print "hostlines," lines ",done," done }
`;

/** nmap.xsl's port table rows: the text of every cell. */
function xslRows(html: string): string[] {
  const rows = [...html.matchAll(/<tr class="(open|closed|filtered)[^"]*">([\s\S]*?)<\/tr>/g)];
  return rows.map((row) =>
    [...row[2]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((cell) => cell[1]!.trim()).join("|")
  );
}

async function libnmapView(path: string): Promise<unknown> {
  const result = await tool(PYTHON, ["-c", LIBNMAP, path]);
  assert.equal(result.code, 0, `libnmap could not read ${path}`);
  return JSON.parse(result.stdout);
}

consumerTest(
  "nmap's and portolan's -sS -p 1-1000 of the lab host read the same in every consumer",
  {},
  async (t) => {
    const lab = await startLab({ name: "ptlf1" });
    const dir = await Deno.makeTempDir({ prefix: "portolan-consumers-" });
    try {
      const { nmap, ours } = await scanBoth(lab, dir, ["-sS", "-n", "-p", "1-1000"]);

      await t.step("xmllint: both valid against nmap.dtd", async () => {
        for (const file of [nmap, ours]) {
          const lint = await tool("xmllint", ["--noout", "--dtdvalid", DTD, `${file}.xml`]);
          assert.equal(lint.code, 0, `${file}.xml`);
        }
      });

      await t.step("ndiff: no difference (exit 0), in text and in --xml", async () => {
        const text = await tool("ndiff", [`${nmap}.xml`, `${ours}.xml`]);
        assert.equal(text.code, 0, text.stdout);
        // Only the scanner line differs: the host line carries the same MAC.
        assert.match(text.stdout, /^-Nmap 7/m);
        assert.doesNotMatch(
          text.stdout,
          new RegExp(`^[-+]${lab.target4.replaceAll(".", "\\.")}`, "m"),
        );
        const xml = await tool("ndiff", ["--xml", `${nmap}.xml`, `${ours}.xml`]);
        assert.equal(xml.code, 0, xml.stdout);
        assert.doesNotMatch(xml.stdout, /<hostdiff>/);
      });

      await t.step(
        "python3-libnmap: same hosts, MAC, ports, states, reasons, services",
        async () => {
          const theirs = await libnmapView(`${nmap}.xml`);
          const mine = await libnmapView(`${ours}.xml`);
          assert.deepEqual(mine, theirs);
          assert.ok((theirs as { rows: unknown[] }).rows.length > 5);
        },
      );

      await t.step("Nmap::Parser: same address, MAC, port, state, service", async () => {
        const theirs = await tool("perl", ["-e", NMAP_PARSER, `${nmap}.xml`]);
        const mine = await tool("perl", ["-e", NMAP_PARSER, `${ours}.xml`]);
        assert.equal(theirs.code, 0);
        assert.equal(mine.code, 0);
        assert.equal(mine.stdout, theirs.stdout);
        assert.match(theirs.stdout, /\t22\topen\tssh\n/);
      });

      await t.step("nmap.xsl (xsltproc): the same port table", async () => {
        const rows: string[][] = [];
        for (const file of [nmap, ours]) {
          const result = await tool("xsltproc", ["-o", `${file}.html`, XSL, `${file}.xml`]);
          assert.equal(result.code, 0);
          rows.push(xslRows(await Deno.readTextFile(`${file}.html`)));
        }
        assert.ok(rows[0]!.length > 5);
        assert.deepEqual(rows[1], rows[0]);
      });

      await t.step("an -oN reader and an -oG reader: the same rows", async () => {
        for (const [reader, ext] of [[NORMAL_READER, "nmap"], [GREPABLE_READER, "gnmap"]]) {
          const theirs = await tool("awk", [reader!, `${nmap}.${ext}`]);
          const mine = await tool("awk", [reader!, `${ours}.${ext}`]);
          assert.equal(mine.stdout, theirs.stdout, ext);
          assert.match(theirs.stdout, /,done,1\n$/);
          assert.match(theirs.stdout, new RegExp(`^${lab.target4.replaceAll(".", "\\.")},22`, "m"));
        }
      });

      await t.step("IPv6: ndiff exit 0, the MAC from neighbour discovery in both", async () => {
        const v6 = await scanBoth(lab, dir, ["-6", "-sS", "-n", "-p", "1-1000"], lab.target6);
        const text = await tool("ndiff", [`${v6.nmap}.xml`, `${v6.ours}.xml`]);
        assert.equal(text.code, 0, text.stdout);
        const theirs = await libnmapView(`${v6.nmap}.xml`);
        assert.deepEqual(await libnmapView(`${v6.ours}.xml`), theirs);
        assert.match(JSON.stringify(theirs), /"([0-9A-F]{2}:){5}[0-9A-F]{2}"/);
      });

      await t.step("the comparison can fail: one changed state is seen", async () => {
        const xml = await Deno.readTextFile(`${ours}.xml`);
        await Deno.writeTextFile(
          `${ours}-changed.xml`,
          xml.replace('portid="22"><state state="open"', 'portid="22"><state state="filtered"'),
        );
        assert.notDeepEqual(
          await libnmapView(`${ours}-changed.xml`),
          await libnmapView(`${nmap}.xml`),
        );
        const diff = await tool("ndiff", [`${nmap}.xml`, `${ours}-changed.xml`]);
        assert.equal(diff.code, 1);
      });
    } finally {
      await lab.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

consumerTest(
  "nmap's and portolan's -sV of the lab's daemons: ndiff does not crash, the same names and products",
  { daemons: true },
  async () => {
    const lab = await startLab({ name: "ptlf2", services: true });
    const dir = await Deno.makeTempDir({ prefix: "portolan-consumers-" });
    try {
      // 2121: vsftpd with a customised greeting; both must name it from its answers.
      const { nmap, ours } = await scanBoth(lab, dir, ["-sV", "-n", "-p", "21,22,25,80,2121,6379"]);
      for (const args of [[], ["--xml"]]) {
        const diff = await tool("ndiff", [...args, `${nmap}.xml`, `${ours}.xml`]);
        // 0 or 1 (versions may differ in detail); 2 is ndiff failing to read.
        assert.ok(diff.code === 0 || diff.code === 1, `ndiff ${args.join(" ")}: ${diff.stdout}`);
      }
      const names = (view: unknown): string[] =>
        (view as { rows: unknown[][] }).rows.map((row) =>
          `${row[2]}/${row[4]}/${row[6]}/${row[7]}`
        );
      const theirs = names(await libnmapView(`${nmap}.xml`));
      assert.deepEqual(names(await libnmapView(`${ours}.xml`)), theirs);
      assert.deepEqual(theirs, [
        "21/open/ftp/vsftpd",
        "22/open/ssh/OpenSSH",
        "25/open/smtp/Exim smtpd",
        "80/open/http/nginx",
        "2121/open/ftp/vsftpd",
        "6379/open/redis/Redis key-value store",
      ]);
      // -oN with -sV: the same names in the SERVICE column.
      const column = async (file: string): Promise<string[]> =>
        (await Deno.readTextFile(`${file}.nmap`)).split("\n")
          .filter((line) => /^\d+\/tcp /.test(line))
          .map((line) => line.split(/\s+/).slice(0, 3).join(" "));
      assert.deepEqual(await column(ours), await column(nmap));
    } finally {
      await lab.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
