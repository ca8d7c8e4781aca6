import assert from "node:assert/strict";
import { parseArgs } from "./args.ts";
import { debugLevel, dnsServerList, scanLetters } from "./nmap_flags.ts";
import { UsageError } from "./usage_error.ts";

Deno.test("combined -s flags are each of their letters, as nmap reads them", () => {
  const cases: [string, Partial<ReturnType<typeof parseArgs>>][] = [
    ["-sSV", { tcpScan: "syn", udpScan: false, serviceDetection: true }],
    ["-sTV", { tcpScan: "connect", udpScan: false, serviceDetection: true }],
    ["-sUV", { udpScan: true, serviceDetection: true }],
    ["-sSU", { tcpScan: "syn", udpScan: true, serviceDetection: false }],
    ["-sSUV", { tcpScan: "syn", udpScan: true, serviceDetection: true }],
    ["-sTU", { tcpScan: "connect", udpScan: true, serviceDetection: false }],
    ["-sVS", { tcpScan: "syn", serviceDetection: true }],
  ];
  for (const [flag, expected] of cases) {
    const options = parseArgs([flag, "198.51.100.2"]);
    for (const [key, value] of Object.entries(expected)) {
      assert.deepEqual(options[key as keyof typeof options], value, `${flag}: ${key}`);
    }
  }
});

Deno.test("a combined flag with a scan type this build lacks says so in one line", () => {
  for (const flag of ["-sSA", "-sAV", "-sSO"]) {
    assert.throws(
      () => parseArgs([flag, "198.51.100.2"]),
      (error: unknown) =>
        error instanceof UsageError && /^Scan type -s[AO] \(in -s\w+\) is not available/.test(
          error.message,
        ) && !error.message.includes("\n"),
    );
  }
  // Still one line for the single letters, and nmap's rules for the pairs it refuses.
  assert.throws(() => parseArgs(["-sA", "x"]), /Scan type -sA is not available/);
  assert.throws(() => parseArgs(["-sTS", "x"]), /Cannot use -sT and -sS together/);
  assert.throws(() => parseArgs(["-snV", "x"]), /Cannot use -sn with a port scan/);
  // Letters nmap has no scan type for stay unknown options.
  assert.throws(() => parseArgs(["-sQQ", "x"]), /Unknown option "-sQQ"/);
  assert.equal(scanLetters("sx", () => true), undefined);
  assert.equal(scanLetters("sS", () => true), undefined, "one letter is not a combination");
});

Deno.test("-d, -dd, -d3 raise the debug level and the verbosity with it", () => {
  assert.equal(debugLevel(""), 1);
  assert.equal(debugLevel("d"), 2);
  assert.equal(debugLevel("3"), 3);
  assert.throws(() => debugLevel("x"), UsageError);
  const dd = parseArgs(["-dd", "x"]);
  assert.deepEqual([dd.debug, dd.verbose], [2, 2]);
  const d = parseArgs(["-d", "-v", "x"]);
  assert.deepEqual([d.debug, d.verbose], [1, 2]);
  assert.equal(parseArgs(["-d3", "x"]).debug, 3);
});

Deno.test("-O, --packet-trace, --stats-every, -R and --dns-servers parse", () => {
  const options = parseArgs([
    "-O",
    "--packet-trace",
    "--stats-every",
    "1s",
    "-R",
    "--dns-servers",
    "198.51.100.53,[2001:db8::53]:5353",
    "x",
  ]);
  assert.equal(options.osDetection, true);
  assert.equal(options.packetTrace, true);
  assert.equal(options.statsEvery, 1000);
  assert.equal(options.resolveAll, true);
  assert.deepEqual(options.dnsServers, [
    { ipAddr: "198.51.100.53" },
    { ipAddr: "2001:db8::53", port: 5353 },
  ]);
  assert.equal(parseArgs(["--stats-every=500ms", "x"]).statsEvery, 500);
  assert.throws(() => parseArgs(["--stats-every", "soon", "x"]), /--stats-every "soon"/);
});

Deno.test("--dns-servers takes addresses with optional ports and refuses names", () => {
  assert.deepEqual(dnsServerList("127.0.0.1:5353, ::1"), [
    { ipAddr: "127.0.0.1", port: 5353 },
    { ipAddr: "::1" },
  ]);
  assert.throws(() => dnsServerList("dns.example"), /expected an IP address/);
  assert.throws(() => dnsServerList("127.0.0.1:0"), /expected an IP address/);
  assert.throws(() => dnsServerList(","), /no server given/);
});
