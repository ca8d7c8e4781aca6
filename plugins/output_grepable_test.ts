import assert from "node:assert/strict";
import { rawControls, runOutput, sampleScan } from "../src/plugin_testing/mod.ts";
import { grepableHost, grepableOutput } from "./output_grepable.ts";

/** No nmap-services table: the output must not depend on what is installed. */
const NO_TABLE = { serviceNames: new Map<string, string>() };

Deno.test("grepable output writes nmap's one line per host", async () => {
  const text = await runOutput(grepableOutput(NO_TABLE), sampleScan().events);
  const lines = text.trimEnd().split("\n");
  assert.match(lines[0]!, /^# portolan 0\.1\.0 scan initiated .* as: portolan -p 1-100 /);
  assert.match(
    lines.at(-1)!,
    /^# Nmap done at .* -- 5 IP addresses \(3 hosts up\) scanned in 2\.50 seconds$/,
  );
  const body = lines.slice(1, -1);
  assert.deepEqual(body, [
    "Host: 198.51.100.1 ()\tStatus: Up",
    "Host: 198.51.100.1 ()\tPorts: 1/filtered/tcp/////, 2/filtered/tcp/////, 3/filtered/tcp/////",
    "Host: 198.51.100.2 (web.example)\tStatus: Up",
    "Host: 198.51.100.2 (web.example)\tPorts: 22/open/tcp//ssh//OpenSSH 9.2p1 (protocol 2.0)/, " +
    "43/open/tcp//ssl|https//nginx/, 80/open/tcp//http//nginx 1.22.1/, 99/open/tcp/////" +
    // Two ignored states: nmap writes no Ignored State field.
    "",
    "Host: 198.51.100.3 ()\tStatus: Down",
    "Host: 2001:db8::5 ()\tStatus: Up",
    "Host: 2001:db8::5 ()\tPorts: 8080/open/tcp//http-proxy///",
  ]);
});

Deno.test("grepable output keeps hostile text inside its field", async () => {
  const text = await runOutput(grepableOutput(NO_TABLE), sampleScan({ hostile: true }).events);
  assert.deepEqual(rawControls(text, "\n\t"), []);
  const web = text.split("\n").filter((line) => line.startsWith("Host: 198.51.100.2 "));
  assert.equal(web.length, 2);
  // Tabs separate fields: a hostile name may not add one.
  for (const line of web) assert.equal(line.split("\t").length, 2);
  const ports = web[1]!.split("\t")[1]!.slice("Ports: ".length).split(", ");
  assert.equal(ports.length, 4);
  for (const entry of ports) assert.equal(entry.split("/").length, 8, entry);
});

Deno.test("grepable output names unprobed services from the nmap-services table", async () => {
  const serviceNames = new Map([["99/tcp", "metagram"]]);
  const text = await runOutput(grepableOutput({ serviceNames }), sampleScan().events);
  assert.match(text, /, 99\/open\/tcp\/\/metagram\/\/\/$/m);
});

Deno.test("grepable: -sn writes the status line only; one ignored state is named; -sV marks guesses", () => {
  const { report } = sampleScan();
  const [filtered, web] = report.hosts;
  assert.equal(
    grepableHost(web!, { ...NO_TABLE, pingOnly: true }),
    "Host: 198.51.100.2 (web.example)\tStatus: Up\n",
  );
  const oneState = { ...web!, ports: web!.ports.filter((p) => p.state !== "filtered") };
  assert.match(grepableHost(oneState, NO_TABLE), /\tIgnored State: closed \(58\)\n$/);
  const names = new Map([["1/tcp", "tcpmux"], ["99/tcp", "metagram"]]);
  const guessed = grepableHost(web!, { serviceNames: names, serviceDetection: true });
  assert.match(guessed, /, 99\/open\/tcp\/\/metagram\?\/\/\/\n$/);
  // Not probed because not open: no mark.
  assert.match(
    grepableHost(filtered!, { serviceNames: names, serviceDetection: true }),
    / 1\/filtered\/tcp\/\/tcpmux\/\/\/,/,
  );
});
