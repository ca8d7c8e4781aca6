import assert from "node:assert/strict";
import {
  matchResponse,
  NMAP_SERVICE_PROBES_PATH,
  nmapProbePlugins,
  parseNmapServiceProbes,
  pcreToRegExp,
  substitute,
  unescapeProbe,
} from "../plugins/probe_nmap.ts";
import { detectServices } from "../src/service/mod.ts";
import { startGreeters } from "./lab/greeters.ts";

// A made-up database in nmap's format; the real one is only read where nmap is installed.
const SAMPLE = String.raw`# comment
Exclude T:9100
Probe TCP NULL q||
totalwaitms 6000
match hello m|^HELLO ([\d.]+) on ([[:alpha:]]+)\r\n| p/Hello server/ v/$1/ h/$2/ cpe:/a:hello:hello:$1/a
softmatch hello m|^HELLO|
match bad m|(?<!x|y)| p/never/
Probe TCP Ping q|PING\r\n\x00|
rarity 6
ports 7000-7002,T:7010
sslports 7443
fallback NULL
match pong m=^PONG (\d+)=si i/size $I(1,">")/ p/$P(1)/
`;

Deno.test("nmap db: probes, payloads, ports, rarity, matches and templates", () => {
  const db = parseNmapServiceProbes(SAMPLE);
  assert.deepEqual(db.probes.map((probe) => probe.name), ["NULL", "Ping"]);
  const [nul, ping] = db.probes;
  assert.equal(nul?.totalWaitMs, 6000);
  assert.equal(nul?.matches.length, 2);
  assert.equal(ping?.rarity, 6);
  assert.deepEqual(ping?.ports, [7000, 7001, 7002, 7010]);
  assert.deepEqual(ping?.sslPorts, [7443]);
  assert.deepEqual(ping?.fallback, ["NULL"]);
  assert.deepEqual([...(ping?.payload ?? [])], [80, 73, 78, 71, 13, 10, 0]);
  assert.deepEqual(matchResponse(nul?.matches ?? [], "HELLO 1.2 on mars\r\n"), {
    name: "hello",
    product: "Hello server",
    version: "1.2",
    hostname: "mars",
    cpe: ["cpe:/a:hello:hello:1.2"],
  });
  assert.deepEqual(matchResponse(nul?.matches ?? [], "HELLO there"), { name: "hello" });
  assert.equal(matchResponse(nul?.matches ?? [], "nope"), undefined);
  assert.deepEqual(matchResponse(ping?.matches ?? [], "pong \x01\x02"), undefined);
});

Deno.test("nmap db: escapes, PCRE translation, substitutions", () => {
  assert.equal(unescapeProbe(String.raw`a\r\n\0\x41\\`), "a\r\n\0A\\");
  assert.ok(pcreToRegExp(String.raw`^x\Z`, "")?.test("x\n"));
  assert.ok(pcreToRegExp("^[[:digit:]]+$", "")?.test("123"));
  assert.ok(pcreToRegExp("^abc$", "i")?.test("ABC"));
  assert.equal(pcreToRegExp("(?<!x|y", ""), undefined);
  const groups = ["all", "a\x01b", "1.2.3", "\x01\x00"];
  assert.equal(substitute("$P(1)", groups), "ab");
  assert.equal(substitute('$SUBST(2,".","_")', groups), "1_2_3");
  assert.equal(substitute('$I(3,">")', groups), "256");
  assert.equal(substitute('$I(3,"<")', groups), "1");
  assert.equal(substitute("v$2 ($9)", groups), "v1.2.3 ()");
});

Deno.test("nmap db: plugins from a database, used by the engine on a greeter", async () => {
  const plugins = await nmapProbePlugins({ text: SAMPLE, active: true });
  assert.deepEqual(plugins.map((plugin) => [plugin.name, plugin.passive, plugin.rarity]), [
    ["nmap-NULL", true, 9],
    ["nmap-Ping", false, 6],
  ]);
  assert.equal((await nmapProbePlugins({ text: SAMPLE })).length, 1, "passive only by default");
  const greeters = await startGreeters({ pop3: 0 });
  try {
    const pop3 = await nmapProbePlugins({
      text:
        "Probe TCP NULL q||\nmatch pop3 m|^\\+OK (\\w+) \\((\\w+)\\) ready| p/$1 pop3d/ i/$2/\n",
    });
    const [result] = await detectServices([{
      address: "127.0.0.1",
      protocol: "tcp",
      port: greeters.ports.pop3 as number,
      state: "open",
      reason: "syn-ack",
    }], { plugins: pop3, timings: { greetingMs: 300, probeWaitMs: 300, portMs: 2000 } });
    assert.equal(result?.service?.product, "Dovecot pop3d");
    assert.equal(result?.service?.extraInfo, "Debian");
  } finally {
    await greeters.close();
  }
});

let installed = false;
try {
  installed = Deno.statSync(NMAP_SERVICE_PROBES_PATH).isFile;
} catch {
  // Not installed.
}

Deno.test({
  name: installed
    ? "nmap db: the installed database parses and names OpenSSH"
    : `nmap db: the installed database (skipped: ${NMAP_SERVICE_PROBES_PATH} missing; apt-get install nmap)`,
  ignore: !installed,
  async fn(): Promise<void> {
    const db = parseNmapServiceProbes(await Deno.readTextFile(NMAP_SERVICE_PROBES_PATH));
    const matches = db.probes.reduce((count, probe) => count + probe.matches.length, 0);
    assert.ok(db.probes.length > 50, `${db.probes.length} probes`);
    assert.ok(db.skipped < matches / 10, `${db.skipped} of ${matches} patterns skipped`);
    const nul = db.probes.find((probe) => probe.name === "NULL");
    const ssh = matchResponse(nul?.matches ?? [], "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u5\r\n");
    assert.equal(ssh?.product, "OpenSSH");
  },
});
