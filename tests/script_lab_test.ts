/**
 * Scripts (-sC, --script, -A) against the lab's real daemons: nginx (80,
 * 443 with a self-signed certificate), OpenSSH, vsftpd and the SMTP
 * greeter; the outputs read by nmap's own consumers (nmap.dtd, ndiff,
 * python3-libnmap), and nmap's own scripts for comparison.
 */

import assert from "node:assert/strict";
import { runTool } from "../plugins/output_fixtures.ts";
import { portolan } from "./helpers.ts";
import { type Lab, labRequired, labTest, startLab } from "./lab/lab.ts";
import { DAEMON_PACKAGES, missingDaemons } from "./lab/services.ts";

const DTD = "/usr/share/nmap/nmap.dtd";
/** Debian's interpreter: python3-libnmap is installed for it. */
const PYTHON = "/usr/bin/python3";
const PORTS = "21,22,25,80,443";
const missing = missingDaemons();

function scriptLabTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  if (missing.length > 0 && !labRequired) {
    Deno.test({
      name: `lab: ${name} (skipped: apt-get install ${DAEMON_PACKAGES.join(" ")})`,
      ignore: true,
      fn,
    });
    return;
  }
  labTest(name, fn);
}

async function scan(lab: Lab, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const result = await portolan(["-Pn", "-n", "--no-db", ...args], {
    prefix: ["ip", "netns", "exec", lab.scanNs],
    timeoutMs: 120_000,
  });
  return { code: result.code, out: result.stdout, err: result.stderr };
}

/** The lines under a port's row of a table, up to the next port or blank line. */
function under(text: string, port: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => line.startsWith(`${port} `));
  assert.ok(start >= 0, `no row for ${port} in:\n${text}`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => !line.startsWith("|"));
  return end < 0 ? rest : rest.slice(0, end);
}

scriptLabTest("-A, -T4 -A -v, -sC and --script banner print nmap's script output", async (t) => {
  const lab = await startLab({ name: "h3x1", services: true });
  const dir = await Deno.makeTempDir({ prefix: "portolan-scripts-" });
  try {
    assert.deepEqual(lab.services?.missing, [], "every daemon started");

    await t.step("-A: -sV and -sC, one line on what it left out", async () => {
      const base = `${dir}/a`;
      const { code, out, err } = await scan(lab, ["-A", "-p", PORTS, "-oA", base, lab.target4]);
      assert.equal(code, 0, err);
      assert.equal(err.match(/-A runs -sV and -sC.*-O.*--traceroute/g)?.length, 1, err);
      assert.match(out, /^80\/tcp +open +http +nginx/m);
      assert.match(under(out, "80/tcp").join("\n"), /^\|_http-title: Portolan lab$/m);
      const ssh = under(out, "22/tcp");
      assert.equal(ssh[0], "| ssh-hostkey: ");
      assert.match(ssh.at(-1)!, /^\|_ {2}256 [0-9a-f]{32} \(ED25519\)$/);
      const tls = under(out, "443/tcp").join("\n");
      assert.match(tls, /^\| ssl-cert: Subject: commonName=/m);
      assert.match(tls, /^\| Not valid after: {2}\d{4}-\d\d-\d\dT/m);
      // The same under the port in -oN, as a field of the port in -oJ, as <script> in -oX.
      const normal = await Deno.readTextFile(`${base}.nmap`);
      assert.match(under(normal, "80/tcp").join("\n"), /^\|_http-title: Portolan lab$/m);
      const json = JSON.parse(await Deno.readTextFile(`${base}.json`));
      const port80 = json.hosts[0].ports.find((p: { port: number }) => p.port === 80);
      assert.deepEqual(port80.scripts, [{ id: "http-title", output: "Portolan lab" }]);
      const xml = await Deno.readTextFile(`${base}.xml`);
      assert.match(xml, /<script id="http-title" output="Portolan lab"\/><\/port>/);
      assert.match(xml, /<script id="ssh-hostkey" output="&#xa; {2}\d+ [0-9a-f]{32} \(ED25519\)"/);
    });

    await t.step(
      "-oX with scripts: valid against nmap.dtd, read by python3-libnmap",
      async () => {
        const xml = `${dir}/a.xml`;
        const lint = await runTool("xmllint", ["--noout", "--dtdvalid", DTD, xml]);
        assert.equal(lint?.code, 0, "xmllint");
        const read = await runTool(PYTHON, [
          "-c",
          "import json,sys\nfrom libnmap.parser import NmapParser\n" +
          "r = NmapParser.parse_fromfile(sys.argv[1])\n" +
          "print(json.dumps({s.port: [x['id'] for x in s.scripts_results] for h in r.hosts for s in h.services}))",
          xml,
        ]);
        assert.equal(read?.code, 0, "libnmap parses it");
        const scripts = JSON.parse(read!.stdout);
        assert.deepEqual(scripts["80"], ["http-title"]);
        assert.deepEqual(scripts["22"], ["ssh-hostkey"]);
        assert.ok(scripts["443"].includes("ssl-cert"));
      },
    );

    await t.step("-T4 -A -v exits 0 with the same script output", async () => {
      const { code, out, err } = await scan(lab, ["-T4", "-A", "-v", "-p", PORTS, lab.target4]);
      assert.equal(code, 0, err);
      assert.match(under(out, "80/tcp").join("\n"), /^\|_http-title: Portolan lab$/m);
      assert.match(under(out, "22/tcp").join("\n"), /\(ED25519\)$/m);
    });

    await t.step("-sC without -sV: scripts chosen by port number", async () => {
      const { code, out, err } = await scan(lab, ["-sC", "-p", PORTS, lab.target4]);
      assert.equal(code, 0, err);
      assert.match(under(out, "80/tcp").join("\n"), /^\|_http-title: Portolan lab$/m);
      assert.match(under(out, "22/tcp").join("\n"), /\(ED25519\)$/m);
      assert.match(under(out, "443/tcp").join("\n"), /^\| ssl-cert: Subject: /m);
      assert.deepEqual(under(out, "21/tcp"), [], "no default script for ftp");
    });

    await t.step("--script banner: what each service says first", async () => {
      const { code, out, err } = await scan(lab, ["--script", "banner", "-p", PORTS, lab.target4]);
      assert.equal(code, 0, err);
      assert.match(under(out, "21/tcp").join("\n"), /^\|_banner: 220 /m);
      assert.match(under(out, "22/tcp").join("\n"), /^\|_banner: SSH-2\.0-OpenSSH_/m);
      assert.match(under(out, "25/tcp").join("\n"), /^\|_banner: 220 .*ESMTP/m);
      assert.deepEqual(under(out, "80/tcp"), [], "nginx waits to be spoken to");
    });

    await t.step("nmap's own http-title and ssh-hostkey print the same lines", async () => {
      const nmap = await lab.run([
        "nmap",
        "-sT",
        "-Pn",
        "-n",
        "-p",
        "22,80",
        "--script",
        "http-title,ssh-hostkey",
        lab.target4,
      ], { timeout: 120_000 });
      assert.equal(nmap.code, 0, nmap.stderr);
      const ours = await scan(lab, [
        "--script",
        "http-title,ssh-hostkey",
        "-p",
        "22,80",
        "-oX",
        `${dir}/ours.xml`,
        lab.target4,
      ]);
      assert.equal(ours.code, 0, ours.err);
      assert.deepEqual(under(ours.out, "80/tcp"), under(nmap.stdout, "80/tcp"));
      // The lab's sshd has one host key (Ed25519): the same lines, fingerprint included.
      assert.deepEqual(under(ours.out, "22/tcp"), under(nmap.stdout, "22/tcp"));
      // ndiff (7.93) cannot sort two scripts of one port, in nmap's reports too: one each here.
      const same = await runTool("ndiff", [`${dir}/ours.xml`, `${dir}/ours.xml`]);
      assert.equal(same?.code, 0, `ndiff reads it: ${same?.stderr}`);
    });

    await t.step("nmap's own ssl-cert prints the same certificate lines", async () => {
      const nmap = await lab.run(
        ["nmap", "-sT", "-Pn", "-n", "-p", "443", "--script", "ssl-cert", lab.target4],
        { timeout: 120_000 },
      );
      assert.equal(nmap.code, 0, nmap.stderr);
      const ours = await scan(lab, ["--script", "ssl-cert", "-p", "443", lab.target4]);
      assert.equal(ours.code, 0, ours.err);
      const theirs = under(nmap.stdout, "443/tcp");
      assert.ok(theirs.some((line) => line.startsWith("| MD5:")), nmap.stdout);
      assert.deepEqual(under(ours.out, "443/tcp"), theirs);
    });

    await t.step("an unknown script name: one line, exit 2, nothing scanned", async () => {
      const { code, err } = await scan(lab, ["--script", "nope", "-p", "80", lab.target4]);
      assert.equal(code, 2);
      assert.match(err.split("\n")[0]!, /^portolan: Cannot use --script "nope": no script/);
    });
  } finally {
    await lab.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
