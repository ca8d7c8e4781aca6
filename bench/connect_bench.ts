/**
 * Connect-scan benchmark: portolan against nmap on all 65535 TCP ports of
 * the lab's target, from the lab's scanner namespace. Measures wall time,
 * peak RSS (via /usr/bin/time) and accuracy against the lab's ground truth.
 *
 * ```sh
 * deno task bench [--runs 3] [--timeout 300] [--variant "name:extra args"]...
 *                 [--only nmap,portolan] [--write] [--out BENCHMARKS.md]
 * ```
 *
 * Needs root (network namespaces). Exits non-zero when a scanner fails.
 *
 * @module
 */

import { expectedStates, labSupported, startLab } from "../tests/lab/lab.ts";
import type { Lab } from "../tests/lab/lab.ts";
import { SCAN_FLAGS } from "../tests/permissions.ts";
import {
  median,
  parseNmapXml,
  parsePortolanJson,
  replaceSection,
  resolveStates,
  type ScanOutcome,
  type Score,
  scoreStates,
  writeMarkdown,
} from "./score.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const MAIN = `${ROOT}/main.ts`;
export const TIME = "/usr/bin/time";

/** `-p-` for every port, as the CLIs document it; `-p LIST` otherwise. */
function portArgs(ports: string): string[] {
  return ports === "-" ? ["-p-"] : ["-p", ports];
}

/** Benchmark options from the command line. */
export interface BenchArgs {
  runs: number;
  /** Per-child hard timeout, seconds. */
  timeout: number;
  variants: { name: string; args: string[] }[];
  only: string[] | undefined;
  write: boolean;
  out: string;
}

/**
 * Parses the benchmark's command line.
 *
 * @param args The arguments.
 * @returns The options.
 */
export function parseBenchArgs(args: string[]): BenchArgs {
  const parsed: BenchArgs = {
    runs: 3,
    timeout: 300,
    variants: [],
    only: undefined,
    write: false,
    out: `${ROOT}/BENCHMARKS.md`,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--write") {
      parsed.write = true;
      continue;
    }
    const value = args[++i];
    if (value === undefined) throw new SyntaxError(`Cannot parse option "${arg}": value missing`);
    if (arg === "--runs" || arg === "--timeout") {
      const number = Number(value);
      if (!/^\d+$/.test(value) || number < 1) {
        throw new RangeError(`Cannot parse ${arg} "${value}": must be a positive integer`);
      }
      if (arg === "--runs") parsed.runs = number;
      else parsed.timeout = number;
    } else if (arg === "--variant") {
      const colon = value.indexOf(":");
      const name = colon === -1 ? "" : value.slice(0, colon).trim();
      if (!/^[\w.-]+$/.test(name) || name === "nmap" || name === "portolan") {
        throw new SyntaxError(
          `Cannot parse variant "${value}": want "name:extra args" with a new name`,
        );
      }
      const extra = value.slice(colon + 1).trim().split(/\s+/).filter((part) => part !== "");
      parsed.variants.push({ name: `portolan ${name}`, args: extra });
    } else if (arg === "--only") {
      parsed.only = value.split(",").map((name) => name.trim());
    } else if (arg === "--out") {
      parsed.out = value;
    } else {
      throw new SyntaxError(`Cannot parse option "${arg}": unknown option`);
    }
  }
  return parsed;
}

interface Tool {
  name: string;
  /** The command as shown in the report; `OUT` stands for the output file. */
  display: string;
  command(out: string, ports: string): string[];
  parse(text: string, address: string): ScanOutcome | null;
  extension: string;
  /** Why it cannot run, when it cannot. */
  unavailable?: string;
}

interface RunRecord {
  seconds: number;
  rssKiB: number | undefined;
  score: Score;
}

interface ToolResult {
  tool: Tool;
  runs: RunRecord[];
  error?: string;
}

function portolanTool(name: string, extra: string[]): Tool {
  const tail = (out: string, ports: string, target: string): string[] => [
    "-sT",
    "-Pn",
    ...portArgs(ports),
    "-n",
    "-oJ",
    out,
    ...extra,
    target,
  ];
  let unavailable: string | undefined;
  try {
    Deno.statSync(MAIN);
  } catch {
    unavailable = `${MAIN} not found: the portolan CLI does not exist yet`;
  }
  return {
    name,
    display: [
      "deno",
      "run",
      ...SCAN_FLAGS,
      "main.ts",
      ...tail("OUT.json", "-", "198.51.100.2"),
    ]
      .join(" "),
    command: (out, ports) => [
      Deno.execPath(),
      "run",
      ...SCAN_FLAGS,
      MAIN,
      ...tail(out, ports, "198.51.100.2"),
    ],
    parse: parsePortolanJson,
    extension: "json",
    ...(unavailable ? { unavailable } : {}),
  };
}

function nmapTool(available: boolean): Tool {
  const args = (out: string, ports: string): string[] => [
    "-sT",
    "-T4",
    "-Pn",
    ...portArgs(ports),
    "-n",
    "-oX",
    out,
    "198.51.100.2",
  ];
  return {
    name: "nmap",
    display: ["nmap", ...args("OUT.xml", "-")].join(" "),
    command: (out, ports) => ["nmap", ...args(out, ports)],
    parse: parseNmapXml,
    extension: "xml",
    ...(available ? {} : { unavailable: "nmap is not installed (apt-get install nmap)" }),
  };
}

async function commandOutput(cmd: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd[0] as string, {
      args: cmd.slice(1),
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.code === 0 ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}

export function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

async function runOnce(
  lab: Lab,
  tool: Tool,
  options: { dir: string; ports: string; timeout: number; measureMemory: boolean },
): Promise<{ seconds: number; rssKiB: number | undefined; outcome: ScanOutcome }> {
  const out = `${options.dir}/${tool.name.replace(/\W+/g, "_")}.${tool.extension}`;
  const memory = `${options.dir}/rss.txt`;
  await Deno.remove(out).catch(() => {});
  await Deno.remove(memory).catch(() => {});
  // timeout(1) kills the whole process group: time(1) and the scanner.
  const cmd = [
    "timeout",
    "-s",
    "KILL",
    String(options.timeout),
    ...(options.measureMemory ? [TIME, "-f", "%M", "-o", memory] : []),
    ...tool.command(out, options.ports),
  ];
  const started = performance.now();
  const result = await lab.run(cmd, {
    cwd: ROOT,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    timeout: (options.timeout + 15) * 1000,
  });
  const seconds = (performance.now() - started) / 1000;
  if (result.timedOut || result.code === 137 || result.code === 124) {
    throw new Error(`${tool.name} killed after the ${options.timeout} s timeout`);
  }
  if (result.code !== 0) {
    // Deno appends a Rust backtrace that says nothing; keep the message.
    const text = (result.stderr.trim() || result.stdout.trim()).split("Stack backtrace:")[0] ?? "";
    const detail = text.trim().split("\n").filter((line) => line.trim() !== "").slice(-5)
      .map((line) => line.trim()).join(" / ");
    throw new Error(`${tool.name} exited ${result.code}: ${detail}`);
  }
  let text: string;
  try {
    text = await Deno.readTextFile(out);
  } catch {
    throw new Error(`${tool.name} wrote no output file ${out}`);
  }
  const outcome = tool.parse(text, lab.target4);
  if (outcome === null) throw new Error(`${tool.name} reported no host ${lab.target4}`);
  let rssKiB: number | undefined;
  if (options.measureMemory) {
    const value = Number(
      (await Deno.readTextFile(memory).catch(() => "")).trim().split("\n").pop(),
    );
    rssKiB = Number.isFinite(value) && value > 0 ? value : undefined;
  }
  return { seconds, rssKiB, outcome };
}

function fraction(found: number, expected: number): string {
  return `${found}/${expected}`;
}

function renderTable(results: ToolResult[], runs: number): string {
  const lines = [
    `| scanner | wall s (median of ${runs}) | min–max s | peak RSS MiB (median) | open found | dropped → filtered | prohibited → filtered | closed → closed | wrong ports (worst run) |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const { tool, runs: records, error } of results) {
    if (records.length === 0) {
      lines.push(
        `| ${tool.name} | failed: ${(error ?? "no run").replaceAll("|", "\\|")} | | | | | | | |`,
      );
      continue;
    }
    const seconds = records.map((r) => r.seconds);
    const rss = records.map((r) => r.rssKiB).filter((v): v is number => v !== undefined);
    const worst = records.reduce((a, b) => (b.score.wrong > a.score.wrong ? b : a)).score;
    lines.push(
      [
        "",
        ` ${tool.name}${error ? " (some runs failed)" : ""} `,
        ` ${median(seconds).toFixed(2)} `,
        ` ${Math.min(...seconds).toFixed(2)}–${Math.max(...seconds).toFixed(2)} `,
        ` ${rss.length > 0 ? (median(rss) / 1024).toFixed(1) : "n/a"} `,
        ` ${fraction(worst.openFound, worst.openExpected)} `,
        ` ${fraction(worst.droppedFiltered, worst.droppedExpected)} `,
        ` ${fraction(worst.prohibitedFiltered, worst.prohibitedExpected)} `,
        ` ${fraction(worst.closedOk, worst.closedExpected)} `,
        ` ${worst.wrong} `,
        "",
      ].join("|"),
    );
  }
  return lines.join("\n");
}

export async function machineInfo(nmapVersion: string | undefined): Promise<string> {
  // Deno wants --allow-all to read /proc directly; grep is allowed to.
  const cpuinfo = await commandOutput(["grep", "-m1", "^model name", "/proc/cpuinfo"]) ?? "";
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown CPU";
  let kernel = "unknown";
  try {
    kernel = Deno.osRelease();
  } catch {
    // No --allow-sys.
  }
  return [
    `${navigator.hardwareConcurrency} CPUs (${model})`,
    `Linux ${kernel}`,
    `deno ${Deno.version.deno}`,
    nmapVersion ? `nmap ${nmapVersion}` : "nmap not installed",
  ].join(", ");
}

/** Entry point; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const args = parseBenchArgs(argv);
  const support = await labSupported();
  if (!support.ok) {
    console.error(`Cannot run the bench: the lab is unsupported here: ${support.why}`);
    return 1;
  }
  const nmapVersion = (await commandOutput(["nmap", "--version"]))
    ?.match(/Nmap version (\S+)/)?.[1];
  const measureMemory = fileExists(TIME);
  if (!measureMemory) {
    console.error(`${TIME} missing: peak RSS not measured (apt-get install time)`);
  }

  let tools: Tool[] = [
    portolanTool("portolan", []),
    ...args.variants.map((variant) => portolanTool(variant.name, variant.args)),
    nmapTool(nmapVersion !== undefined),
  ];
  if (args.only) {
    const only = args.only;
    tools = tools.filter((tool) =>
      only.includes(tool.name) || only.includes(tool.name.replace(/^portolan /, ""))
    );
    if (tools.length === 0) {
      throw new SyntaxError(`Cannot parse --only "${only.join(",")}": no such scanner`);
    }
  }

  const results: ToolResult[] = tools.map((tool) => ({
    tool,
    runs: [],
    ...(tool.unavailable ? { error: tool.unavailable } : {}),
  }));
  const dir = await Deno.makeTempDir({ prefix: "portolan_bench_" });
  const lab = await startLab({ name: "ptlb" });
  const onSignal = (): void => {
    console.error("interrupted: tearing the lab down");
    lab.stop().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const all = Array.from({ length: 65535 }, (_, i) => i + 1);
    const expected = expectedStates(lab, all);
    const base = { dir, timeout: args.timeout, measureMemory };
    // Warm-up on a few ports: Deno's module cache, the page cache.
    for (const result of results) {
      if (result.error) continue;
      try {
        await runOnce(lab, result.tool, { ...base, ports: "1-1024" });
      } catch (error) {
        result.error = `warm-up: ${(error as Error).message}`;
      }
    }
    for (let run = 0; run < args.runs; run++) {
      // Rotate the order so that no scanner always goes first.
      const order = results.map((_, i) => results[(i + run) % results.length] as ToolResult);
      for (const result of order) {
        if (result.error && result.runs.length === 0) continue;
        try {
          const { seconds, rssKiB, outcome } = await runOnce(lab, result.tool, {
            ...base,
            ports: "-",
          });
          const score = scoreStates(expected, resolveStates(outcome, all), lab.dropped);
          result.runs.push({ seconds, rssKiB, score });
          console.error(
            `run ${run + 1}/${args.runs} ${result.tool.name}: ${seconds.toFixed(2)} s, ` +
              `${rssKiB === undefined ? "rss n/a" : `${(rssKiB / 1024).toFixed(1)} MiB`}, ` +
              `${score.wrong} wrong${score.wrong > 0 ? ` (${score.wrongSample.join(" ")})` : ""}`,
          );
        } catch (error) {
          result.error = (error as Error).message;
          console.error(`run ${run + 1}/${args.runs} ${result.tool.name}: ${result.error}`);
        }
        if (!lab.listenerRunning()) {
          throw new Error("Cannot trust the results: the lab's listener died");
        }
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await lab.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  const table = renderTable(results, args.runs);
  const commandLine = ["deno", "task", "bench", ...argv].join(" ");
  const truth =
    `${lab.open.length} open, ${lab.dropped.length} dropped, ${lab.prohibited.length} ` +
    `admin-prohibited, ${
      65535 - lab.open.length - lab.dropped.length - lab.prohibited.length
    } closed`;
  const section = [
    `### Connect scan: all 65535 TCP ports of one lab host`,
    "",
    `Measured ${
      new Date().toISOString().slice(0, 10)
    } with \`${commandLine}\` on ${await machineInfo(nmapVersion)}.`,
    "",
    table,
    "",
    `Ground truth: ${truth}. Accuracy columns show the worst run.`,
    "",
    "Commands (in the scanner namespace):",
    "",
    ...results.map(({ tool }) => `- ${tool.name}: \`${tool.display}\``),
    ...results.filter((r) => r.error).map((r) => `- ${r.tool.name} error: ${r.error}`),
  ].join("\n");
  console.log(section);

  const failed = results.filter((r) => r.error !== undefined);
  if (args.write) {
    if (failed.length > 0) {
      console.error(`not writing ${args.out}: ${failed.map((r) => r.tool.name).join(", ")} failed`);
    } else {
      const document = await Deno.readTextFile(args.out).catch(() => "# Benchmarks\n");
      await writeMarkdown(args.out, replaceSection(document, "connect", section));
      // Keep `deno fmt --check` green: let fmt wrap and align the new section.
      await new Deno.Command(Deno.execPath(), {
        args: ["fmt", args.out],
        cwd: ROOT,
        stderr: "null",
      })
        .output();
      console.error(`wrote ${args.out}`);
    }
  }
  return failed.length > 0 ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(1);
  }
}
