import assert from "node:assert/strict";
import {
  expandPortList,
  median,
  parseNmapXml,
  parsePortolanJson,
  replaceSection,
  resolveStates,
  scoreStates,
} from "./score.ts";
import { parseBenchArgs } from "./connect_bench.ts";

const NMAP_XML = `<?xml version="1.0" encoding="UTF-8"?>
<nmaprun scanner="nmap" args="nmap -sT -p1-10 198.51.100.2" version="7.93">
<host starttime="1" endtime="2"><status state="up" reason="user-set" reason_ttl="0"/>
<address addr="198.51.100.2" addrtype="ipv4"/>
<ports><extraports state="closed" count="6">
<extrareasons reason="conn-refused" count="6" proto="tcp" ports="1,3-4,7-9"/>
</extraports>
<extraports state="filtered" count="2">
<extrareasons reason="no-response" count="1" proto="tcp" ports="5"/>
<extrareasons reason="host-unreach" count="1" proto="tcp" ports="6"/>
</extraports>
<port protocol="tcp" portid="2"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="x" method="table" conf="3"/></port>
<port protocol="tcp" portid="10"><state state="closed" reason="conn-refused" reason_ttl="0"/></port>
</ports>
</host>
</nmaprun>`;

Deno.test("score: expandPortList expands nmap's compact lists", () => {
  assert.deepEqual(expandPortList("1-3,7,65535"), [1, 2, 3, 7, 65535]);
  assert.deepEqual(expandPortList(""), []);
  assert.throws(() => expandPortList("5-3"), RangeError);
  assert.throws(() => expandPortList("a"), /Cannot parse port list item "a"/);
});

Deno.test("score: parseNmapXml reads listed ports and named extraports", () => {
  const outcome = parseNmapXml(NMAP_XML, "198.51.100.2");
  assert.ok(outcome);
  assert.deepEqual([...outcome.ports], [[2, "open"], [10, "closed"]]);
  assert.deepEqual(outcome.extraports, [
    { state: "closed", count: 6, ports: [1, 3, 4, 7, 8, 9] },
    { state: "filtered", count: 2, ports: [5, 6] },
  ]);
  assert.equal(parseNmapXml(NMAP_XML, "198.51.100.3"), null);
  const states = resolveStates(outcome, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual([...states.values()], [
    "closed",
    "open",
    "closed",
    "closed",
    "filtered",
    "filtered",
    "closed",
    "closed",
    "closed",
    "closed",
  ]);
});

Deno.test("score: parseNmapXml accepts self-closing extraports without port lists", () => {
  const xml = `<host><address addr="198.51.100.2"/><ports>
<extraports state="closed" count="9" />
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/></port></ports></host>`;
  const outcome = parseNmapXml(xml);
  assert.ok(outcome);
  assert.deepEqual(outcome.extraports, [{ state: "closed", count: 9 }]);
  const states = resolveStates(outcome, [21, 22, 23]);
  assert.deepEqual([...states], [[21, "closed"], [22, "open"], [23, "closed"]]);
});

Deno.test("score: parsePortolanJson reads the -oJ schema", () => {
  const report = {
    scanner: "portolan",
    hosts: [{
      address: "198.51.100.2",
      ports: [
        { address: "198.51.100.2", protocol: "tcp", port: 22, state: "open", reason: "syn-ack" },
        {
          address: "198.51.100.2",
          protocol: "tcp",
          port: 23,
          state: "filtered",
          reason: "no-response",
        },
      ],
      extraports: [{ state: "closed", count: 3, reasons: [{ reason: "conn-refused", count: 3 }] }],
    }],
  };
  const outcome = parsePortolanJson(JSON.stringify(report), "198.51.100.2");
  assert.ok(outcome);
  const states = resolveStates(outcome, [21, 22, 23, 24]);
  assert.deepEqual([...states], [[21, "closed"], [22, "open"], [23, "filtered"], [24, "closed"]]);
  assert.equal(parsePortolanJson(JSON.stringify(report), "2001:db8:1::2"), null);
});

Deno.test("score: ports that two unnamed extraports share stay unknown", () => {
  const states = resolveStates(
    {
      ports: new Map(),
      extraports: [{ state: "closed", count: 1 }, { state: "filtered", count: 1 }],
    },
    [1, 2],
  );
  assert.deepEqual([...states.values()], ["unknown", "unknown"]);
});

Deno.test("score: scoreStates counts each class and the wrong ports", () => {
  const expected = new Map([[1, "open"], [2, "filtered"], [3, "filtered"], [4, "closed"], [
    5,
    "closed",
  ]]);
  const reported = new Map([[1, "open"], [2, "filtered"], [3, "closed"], [4, "closed"], [
    5,
    "open",
  ]]);
  const score = scoreStates(expected, reported, [2]);
  assert.deepEqual(score, {
    openFound: 1,
    openExpected: 1,
    droppedFiltered: 1,
    droppedExpected: 1,
    prohibitedFiltered: 0,
    prohibitedExpected: 1,
    closedOk: 1,
    closedExpected: 2,
    wrong: 2,
    wrongSample: ["3:filtered→closed", "5:closed→open"],
  });
});

Deno.test("score: median", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.throws(() => median([]), RangeError);
});

Deno.test("score: replaceSection replaces between markers or appends", () => {
  const doc = "# B\n\n<!-- bench:connect:start -->\nold\n<!-- bench:connect:end -->\n\ntail\n";
  assert.equal(
    replaceSection(doc, "connect", "new\n"),
    "# B\n\n<!-- bench:connect:start -->\nnew\n<!-- bench:connect:end -->\n\ntail\n",
  );
  assert.equal(
    replaceSection("# B\n", "connect", "x"),
    "# B\n\n<!-- bench:connect:start -->\nx\n<!-- bench:connect:end -->\n",
  );
});

Deno.test("bench: parseBenchArgs", () => {
  const args = parseBenchArgs([
    "--runs",
    "5",
    "--variant",
    "epoll:--engine epoll --max-parallelism 512",
    "--write",
  ]);
  assert.equal(args.runs, 5);
  assert.equal(args.timeout, 300);
  assert.equal(args.write, true);
  assert.deepEqual(args.variants, [{
    name: "portolan epoll",
    args: ["--engine", "epoll", "--max-parallelism", "512"],
  }]);
  assert.throws(() => parseBenchArgs(["--runs", "0"]), RangeError);
  assert.throws(() => parseBenchArgs(["--variant", "no colon"]), SyntaxError);
  assert.throws(() => parseBenchArgs(["--frobnicate"]), /unknown option|value missing/);
});
