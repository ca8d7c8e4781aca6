/**
 * The Markdown example, tested as a plugin author would: over the SDK's
 * sample scan, with the SDK's testing helpers.
 */
import assert from "node:assert/strict";
import { rawControls, runOutput, sampleScan } from "../src/plugin_testing/mod.ts";
import { markdownOutput } from "./output_markdown.ts";

Deno.test("markdown: one table per host, in the layout nmap lists", async () => {
  const text = await runOutput(markdownOutput(), sampleScan());
  assert.ok(text.startsWith("# portolan scan report\n"), text);
  assert.match(text, /^## 198\.51\.100\.2 \(web\.example\)$/m);
  assert.match(
    text,
    /^\| 22\/tcp \| open \| ssh \| OpenSSH 9\.2p1 \(protocol 2\.0\) \| syn-ack \|$/m,
  );
  // The closed and filtered ports past nmap's threshold are counted, not listed.
  assert.match(text, /^Not shown: \d+ closed, \d+ filtered\.$/m);
  assert.match(text, /\n5 open ports\.\n$/);
});

Deno.test("markdown: the options (title, openOnly) as the command line would give them", async () => {
  const text = await runOutput(
    markdownOutput({ title: "Lab | *night*", openOnly: true }),
    sampleScan(),
  );
  // Markdown in the title is escaped: it can neither open a table nor emphasise.
  assert.ok(text.startsWith("# Lab \\| \\*night\\*\n"), text);
  assert.doesNotMatch(text, /\| (closed|filtered) \|/);
  assert.deepEqual(markdownOutput.defaults, { title: "portolan scan report", openOnly: false });
});

Deno.test("markdown: hostile service text cannot break the table or reach a terminal raw", async () => {
  const text = await runOutput(markdownOutput(), sampleScan({ hostile: true }));
  assert.deepEqual(rawControls(text), []);
  // Markup reaches the tables as entities (in the command's code span it is shown, not run).
  const tables = text.split("\n").filter((line) => line.startsWith("|")).join("\n");
  assert.doesNotMatch(tables, /[<>]/);
  for (const line of text.split("\n").filter((line) => line.startsWith("| 80/tcp"))) {
    // Five cells, whatever the service's name holds.
    assert.equal(line.split(/(?<!\\)\|/).length, 7, line);
  }
});
