import assert from "node:assert/strict";
import { parseArgs } from "./args.ts";
import { UsageError } from "./usage_error.ts";

Deno.test("parseArgs: nmap's everyday lines become options", () => {
  const options = parseArgs([
    "-sS",
    "-T4",
    "-p",
    "22,80",
    "--max-rate",
    "5000",
    "-oJ",
    "out.json",
    "198.51.100.2",
  ]);
  assert.equal(options.tcpScan, "syn");
  assert.equal(options.timingLevel, 4);
  assert.equal(options.ports, "22,80");
  assert.equal(options.maxRate, 5000);
  assert.deepEqual(options.outputs, [{ format: "json", path: "out.json" }]);
  assert.deepEqual(options.targets, ["198.51.100.2"]);

  const combined = parseArgs(["-sTV", "-Pn", "-n", "--open", "198.51.100.0/28"]);
  assert.equal(combined.tcpScan, "connect");
  assert.equal(combined.serviceDetection, true);
  assert.equal(combined.skipDiscovery, true);
  assert.equal(combined.noResolve, true);
  assert.equal(combined.open, true);

  const aggressive = parseArgs(["-A", "198.51.100.2"]);
  assert.equal(aggressive.aggressive, true);
  assert.equal(aggressive.serviceDetection, true);
  assert.equal(aggressive.scriptDefaults, true);
});

Deno.test("parseArgs: bad lines are errors a user can read, named by the flag", () => {
  const cases: [string[], RegExp][] = [
    [["--max-rate", "fast", "x"], /--max-rate/],
    [["--frobnicate", "x"], /frobnicate/],
    [["-T9", "x"], /-T9|timing/i],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => parseArgs(args),
      (error: unknown) =>
        (error instanceof UsageError || error instanceof RangeError ||
          error instanceof SyntaxError) && message.test((error as Error).message),
      args.join(" "),
    );
  }
});

Deno.test("parseArgs: --output NAME:FILE?key=value carries the options as text, URL-decoded", () => {
  const options = parseArgs([
    "--output",
    "markdown:scan.md?title=Lab+scan%21&openOnly",
    "--output",
    "csv:plain.csv",
    "--output",
    "json:empty.json?",
    "127.0.0.1",
  ]);
  assert.deepEqual(options.outputs, [
    { format: "markdown", path: "scan.md", options: { title: "Lab scan!", openOnly: "" } },
    { format: "csv", path: "plain.csv" },
    { format: "json", path: "empty.json", options: {} },
  ]);
  for (
    const [value, message] of [
      ["markdown:?title=x", /the file name is empty$/],
      ["markdown:a.md?title=x&title=y", /option "title" is given twice$/],
      ["markdown:a.md?=x", /an option has no name \(key=value\)$/],
    ] as const
  ) {
    assert.throws(
      () => parseArgs(["--output", value, "127.0.0.1"]),
      (error: Error) => error instanceof UsageError && message.test(error.message),
      value,
    );
  }
});
