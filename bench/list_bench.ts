/**
 * `-sL -n 10.0.0.0/8`: how fast 16,777,216 addresses are listed and how much
 * memory that takes, beside `nmap -sL -n` on the same range. Nothing is sent.
 *
 * @module
 */

import { fileExists, machineInfo, TIME } from "./connect_bench.ts";
import { median, replaceSection } from "./score.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const RANGE = "10.0.0.0/8";
const EXPECTED = 16_777_216;

interface Measure {
  seconds: number;
  rssKiB: number | undefined;
  lines: number;
  finished: boolean;
}

/** Run `argv`, count the lines it prints, kill it after `timeoutSeconds`. */
async function measure(argv: string[], timeoutSeconds: number): Promise<Measure> {
  const withTime = fileExists(TIME) ? [TIME, "-f", "%M", ...argv] : argv;
  const start = performance.now();
  const child = new Deno.Command(withTime[0]!, {
    args: withTime.slice(1),
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let finished = true;
  const timer = setTimeout(() => {
    finished = false;
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, timeoutSeconds * 1000);
  let lines = 0;
  for await (const chunk of child.stdout) {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
  }
  const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  const status = await child.status;
  clearTimeout(timer);
  const seconds = (performance.now() - start) / 1000;
  const rss = /(\d+)\s*$/.exec(stderr.trim())?.[1];
  return {
    seconds,
    rssKiB: rss === undefined || !fileExists(TIME) ? undefined : Number(rss),
    lines,
    finished: finished && status.code === 0,
  };
}

async function nmapVersion(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("nmap", { args: ["--version"], stdout: "piped" }).output();
    return /Nmap version (\S+)/.exec(new TextDecoder().decode(out.stdout))?.[1];
  } catch {
    return undefined;
  }
}

/** Entry point; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const write = argv.includes("--write");
  const runsIndex = argv.indexOf("--runs");
  const runs = runsIndex >= 0 ? Number(argv[runsIndex + 1]) : 3;
  const portolan = [
    Deno.execPath(),
    "run",
    "--quiet",
    "--allow-read",
    "main.ts",
    "-sL",
    "-n",
    RANGE,
  ];
  const nmap = ["nmap", "-sL", "-n", RANGE];
  const rows: string[] = [];
  let ok = true;
  for (
    const [name, command, timeout] of [["portolan", portolan, 120], ["nmap", nmap, 120]] as const
  ) {
    const measures: Measure[] = [];
    for (let run = 0; run < (name === "nmap" ? 1 : runs); run++) {
      const result = await measure([...command], timeout);
      measures.push(result);
      console.error(
        `${name} run ${run + 1}: ${result.seconds.toFixed(2)} s, ${result.lines} lines, ` +
          `${
            result.rssKiB === undefined ? "rss n/a" : `${(result.rssKiB / 1024).toFixed(1)} MiB`
          }` +
          (result.finished ? "" : `, killed after ${timeout} s`),
      );
    }
    const seconds = median(measures.map((m) => m.seconds));
    const rss = measures.every((m) => m.rssKiB !== undefined)
      ? `${(median(measures.map((m) => m.rssKiB!)) / 1024).toFixed(1)} MiB`
      : "n/a";
    const done = measures.every((m) => m.finished && m.lines >= EXPECTED);
    if (name === "portolan" && (!done || measures.some((m) => m.lines !== EXPECTED))) ok = false;
    const linesText = measures.map((m) => m.lines).join(" / ");
    rows.push(
      `| ${name} | ${
        done ? seconds.toFixed(2) + " s" : `not done in ${timeout} s`
      } | ${rss} | ${linesText} | \`${command.join(" ").replace(Deno.execPath(), "deno")}\` |`,
    );
  }
  const section = [
    "### Target listing: `-sL -n 10.0.0.0/8` (16,777,216 addresses, nothing sent)",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} with \`deno task bench ${
      argv.join(" ")
    }\` on ${await machineInfo(await nmapVersion())}.`,
    `portolan: median of ${runs} runs; nmap: one run. Lines counted by the bench from stdout.`,
    "",
    "| scanner | wall time | peak RSS | lines | command |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
  console.log(section);
  if (write && ok) {
    const out = `${ROOT}/BENCHMARKS.md`;
    const document = await Deno.readTextFile(out);
    await Deno.writeTextFile(out, replaceSection(document, "list", section));
    await new Deno.Command(Deno.execPath(), { args: ["fmt", out], cwd: ROOT, stderr: "null" })
      .output();
    console.error(`wrote ${out}`);
  }
  return ok ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
