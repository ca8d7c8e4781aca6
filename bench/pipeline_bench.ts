/**
 * Pipeline benchmark (issue 10): what a scan costs after the engine — wall
 * time, peak RSS (`/usr/bin/time -v`) and history growth — on the /16 sweep
 * lab (198.18.0.0/16, lower half answers, upper half dark) and on one host's
 * 65535 ports, beside masscan and zmap in the same lab and run.
 *
 * ```sh
 * deno run -A bench/pipeline_bench.ts [--runs 1] [--timeout 300] [--only portolan,masscan,zmap]
 *                                     [--scenarios sweep16,sweep4,sweep1,nodb,connect,engine]
 *                                     [--write] [--out BENCHMARKS.md]
 * deno run -A bench/pipeline_bench.ts --synthetic   # the router alone, no lab, no engine
 * ```
 *
 * `--synthetic` feeds the result router the verdicts of the /16 sweep
 * (65536 hosts × 16 ports, the upper half silent, the lower half one open
 * port and 15 closed), in a shuffled order, with the history on and a JSON
 * output: how many verdicts a second the pipeline takes after the engine.
 *
 * Portolan runs through `main.ts` with the scan task's permissions, its
 * history in a fresh file per run (`--db`), its JSON report written to a
 * file that is then judged against the lab's ground truth: every live
 * host's port 80 open, nothing open that is not.
 *
 * @module
 */

import { expectedStates, labSupported, startLab } from "../tests/lab/lab.ts";
import type { Lab } from "../tests/lab/lab.ts";
import { enableSweep } from "../tests/lab/raw_lab.ts";
import { SCAN_FLAGS } from "../tests/permissions.ts";
import { median, replaceSection, writeMarkdown } from "./score.ts";
import { openPipeline } from "../src/scan/pipeline.ts";
import { openHistory } from "../src/store/mod.ts";
import { jsonOutput } from "../plugins/output_json.ts";
import { SWEEP_HOSTS, SWEEP_PORTS, sweepHost, sweepVerdicts } from "./sweep_verdicts.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const MAIN = `${ROOT}/main.ts`;

/** Options from the command line. */
export interface PipelineBenchArgs {
  runs: number;
  timeout: number;
  only: string[] | undefined;
  scenarios: string[];
  synthetic: boolean;
  /** Write the tables into BENCHMARKS.md (its `bench:pipeline-runs` section). */
  write: boolean;
  out: string;
}

const ALL_SCENARIOS = ["sweep16", "sweep4", "nodb", "sweep1", "connect", "engine"];

/** Parse the bench's command line. */
export function parsePipelineBenchArgs(args: readonly string[]): PipelineBenchArgs {
  const parsed: PipelineBenchArgs = {
    runs: 1,
    timeout: 300,
    only: undefined,
    scenarios: ALL_SCENARIOS,
    synthetic: false,
    write: false,
    out: `${ROOT}/BENCHMARKS.md`,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = args[i + 1];
    const need = (): string => {
      if (value === undefined) throw new SyntaxError(`Cannot parse option "${arg}": value missing`);
      i++;
      return value;
    };
    if (arg === "--runs") parsed.runs = Math.max(1, Number(need()));
    else if (arg === "--timeout") parsed.timeout = Number(need());
    else if (arg === "--only") parsed.only = need().split(",");
    else if (arg === "--scenarios") parsed.scenarios = need().split(",");
    else if (arg === "--synthetic") parsed.synthetic = true;
    else if (arg === "--write") parsed.write = true;
    else if (arg === "--out") parsed.out = need();
    else throw new SyntaxError(`Cannot parse option "${arg}": unknown option`);
  }
  return parsed;
}

/** One measured run. */
interface Measure {
  seconds: number;
  /** User plus system CPU time (`/usr/bin/time -v`), every thread. */
  cpuSeconds: number;
  rssMb: number;
  historyMb?: number;
  /** Live hosts whose port 80 was found open, of 32768 (sweeps); ports right (connect). */
  found?: number;
  /** Open verdicts that are not in the ground truth. */
  wrong?: number;
  ok: boolean;
  note: string;
}

interface Command {
  scanner: string;
  /** The command, `{DB}` and `{OUT}` replaced per run. */
  cmd: string[];
  /** Judge the output file (sweeps). */
  judge?: (out: string) => { found: number; wrong: number };
  history: boolean;
}

interface Scenario {
  name: string;
  title: string;
  /** Header of the `found` column; default "port 80 found /32768". */
  foundHeader?: string;
  commands: Command[];
}

const decoder = new TextDecoder();

function portolan(args: string[], history: boolean): string[] {
  return [
    "/usr/bin/time",
    "-v",
    Deno.execPath(),
    "run",
    "--quiet",
    ...SCAN_FLAGS,
    MAIN,
    ...args,
    ...(history ? ["--db", "{DB}"] : ["--no-db"]),
    "-oJ",
    "{OUT}",
  ];
}

/** Live sweep hosts are 198.18.0.0–198.18.127.255. */
function isLive(address: string): boolean {
  const parts = address.split(".").map(Number);
  return parts.length === 4 && parts[0] === 198 && parts[1] === 18 && (parts[2] ?? 255) < 128;
}

function judgeJson(out: string): { found: number; wrong: number } {
  const data = JSON.parse(out) as {
    hosts: { address: string; ports: { port: number; state: string }[] }[];
  };
  let found = 0;
  let wrong = 0;
  for (const host of data.hosts) {
    for (const port of host.ports) {
      if (port.state !== "open") continue;
      if (port.port === 80 && isLive(host.address)) found++;
      else wrong++;
    }
  }
  return { found, wrong };
}

function judgeList(out: string): { found: number; wrong: number } {
  let found = 0;
  let wrong = 0;
  for (const line of out.split("\n")) {
    const fields = line.trim().split(/\s+/);
    // masscan -oL: "open tcp 80 198.18.0.1 1700000000"; zmap -o: one address a line.
    const [address, port] = fields[0] === "open" ? [fields[3], Number(fields[2])] : [fields[0], 80];
    if (address === undefined || !/^\d+\.\d+\.\d+\.\d+$/.test(address)) continue;
    if (port === 80 && isLive(address)) found++;
    else wrong++;
  }
  return { found, wrong };
}

async function linkMac(ns: string, dev: string): Promise<string> {
  const out = await new Deno.Command("ip", {
    args: ["-n", ns, "link", "show", dev],
    stdout: "piped",
  })
    .output();
  const mac = /link\/ether ([0-9a-f:]+)/.exec(decoder.decode(out.stdout))?.[1];
  if (mac === undefined) throw new Error(`Cannot read the MAC of ${dev} in ${ns}`);
  return mac;
}

/**
 * The connect scenario: the scan with and without history; a scan just
 * below the size that starts the connect worker (one thread); and Deno's
 * own floor: an empty module, then main.ts --help (the module graph).
 */
function connectCommands(lab: Lab): Command[] {
  const scan = (ports: string, history: boolean): Command => ({
    scanner: `portolan -p ${ports}${history ? "" : " --no-db"}`,
    cmd: portolan(["-sT", "-Pn", "-n", "-T4", "-p", ports, lab.target4], history),
    judge: (out) => judgeConnect(out, lab, ports),
    history,
  });
  const deno = (what: string, args: string[]): Command => ({
    scanner: `deno ${what}`,
    cmd: ["/usr/bin/time", "-v", Deno.execPath(), "run", "--quiet", ...args],
    history: false,
  });
  return [
    scan("1-65535", true),
    scan("1-65535", false),
    scan("1-19999", true),
    deno("run of an empty module", ["data:text/javascript,"]),
    deno("run main.ts --help (module graph)", [...SCAN_FLAGS, MAIN, "--help"]),
  ];
}

/**
 * Ports of `first-last` whose state in the JSON report is the lab's: listed
 * ports one by one, closed ports counted (extraports) against the closed
 * ports the report does not list.
 */
function judgeConnect(
  out: string,
  lab: Lab,
  range: string,
): { found: number; wrong: number; note?: string } {
  const [first, last] = range.split("-").map(Number) as [number, number];
  const ports = Array.from({ length: last - first + 1 }, (_, i) => first + i);
  const expected = expectedStates(lab, ports);
  const data = JSON.parse(out) as {
    hosts: {
      ports: { port: number; state: string }[];
      extraports?: { state: string; count: number }[];
    }[];
  };
  const host = data.hosts[0];
  if (host === undefined) return { found: 0, wrong: ports.length };
  let right = 0;
  const listed = new Set<number>();
  // A wrong port is named in the table's note, so a rare miss can be looked into.
  const wrongListed: string[] = [];
  for (const { port, state } of host.ports) {
    listed.add(port);
    if (expected.get(port) === state) right++;
    else wrongListed.push(`${port} ${state} (lab: ${expected.get(port)})`);
  }
  let closedUnlisted = 0;
  for (const [port, state] of expected) {
    if (state === "closed" && !listed.has(port)) closedUnlisted++;
  }
  const counted = (host.extraports ?? []).filter((extra) => extra.state === "closed")
    .reduce((sum, extra) => sum + extra.count, 0);
  right += Math.min(counted, closedUnlisted);
  const note = wrongListed.length > 0 ? `wrong: ${wrongListed.slice(0, 3).join(", ")}` : undefined;
  return { found: right, wrong: ports.length - right, ...(note === undefined ? {} : { note }) };
}

async function scenarios(lab: Lab): Promise<Scenario[]> {
  const prefix = lab.scanNs.replace(/-scan$/, "");
  const scanIf = `${prefix}-s0`;
  const targetMac = await linkMac(lab.targetNs, `${prefix}-t0`);
  // masscan 1.3.2 keeps running past its --wait here: stopped by SIGINT (timeout
  // signals the whole group, so /usr/bin/time inside still reports).
  const masscan = (ports: string): string[] => [
    "timeout",
    "-s",
    "INT",
    "-k",
    "5",
    "20",
    "/usr/bin/time",
    "-v",
    "masscan",
    "198.18.0.0/16",
    "-p",
    ports,
    "--rate",
    "100000",
    "-e",
    scanIf,
    "--router-mac",
    targetMac,
    "--wait",
    "2",
    "-oL",
    "{OUT}",
  ];
  const sweep = (ports: string, history: boolean): Command => ({
    scanner: history ? "portolan" : "portolan --no-db",
    // The rate masscan and zmap are given (--rate, -r); without it a sweep's default ceiling holds.
    cmd: portolan(
      ["-sS", "-Pn", "-n", "-T4", "--max-rate", "100000", "-p", ports, "198.18.0.0/16"],
      history,
    ),
    judge: judgeJson,
    history,
  });
  return [
    {
      name: "sweep16",
      title: "`-sS -Pn -p 80-95 198.18.0.0/16` (1,048,576 probes), history on",
      commands: [
        sweep("80-95", true),
        { scanner: "masscan", cmd: masscan("80-95"), judge: judgeList, history: false },
      ],
    },
    {
      name: "nodb",
      title: "`-sS -Pn -p 80-95 198.18.0.0/16`, `--no-db`",
      commands: [sweep("80-95", false)],
    },
    {
      name: "sweep4",
      title: "`-sS -Pn -p 80-83 198.18.0.0/16` (262,144 probes), history on",
      commands: [
        sweep("80-83", true),
        { scanner: "masscan", cmd: masscan("80-83"), judge: judgeList, history: false },
      ],
    },
    {
      name: "sweep1",
      title: "`-sS -Pn -p 80 198.18.0.0/16`, history on",
      commands: [
        sweep("80", true),
        { scanner: "masscan", cmd: masscan("80"), judge: judgeList, history: false },
        {
          scanner: "zmap",
          cmd: [
            "/usr/bin/time",
            "-v",
            "zmap",
            "-p",
            "80",
            "-r",
            "100000",
            "-i",
            scanIf,
            "-G",
            targetMac,
            "-S",
            lab.scanner4,
            "-b",
            "/dev/null",
            "-q",
            "-o",
            "{OUT}",
            "198.18.0.0/16",
          ],
          judge: judgeList,
          history: false,
        },
      ],
    },
    {
      name: "engine",
      title: "The raw engine alone (bench/engine_alone.ts, verdicts dropped) on the /16 sweep",
      commands: ["80-95", "80-83"].map((ports) => ({
        scanner: `portolan engine only, -p ${ports}`,
        cmd: [
          "/usr/bin/time",
          "-v",
          Deno.execPath(),
          "run",
          "--quiet",
          "-A",
          `${ROOT}/bench/engine_alone.ts`,
          "198.18.0.0/16",
          ...ports.split("-"),
        ],
        history: false,
      })),
    },
    {
      name: "connect",
      title:
        `\`-sT -Pn -n -T4 -p- ${lab.target4}\` (one host, 65535 ports), and what its memory is made of`,
      foundHeader: "ports right",
      commands: connectCommands(lab),
    },
  ];
}

async function fileMb(path: string): Promise<number> {
  let bytes = 0;
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      bytes += (await Deno.stat(path + suffix)).size;
    } catch {
      // Absent.
    }
  }
  return bytes / 1e6;
}

async function measure(lab: Lab, command: Command, timeout: number): Promise<Measure> {
  const dir = await Deno.makeTempDir({ prefix: "portolan-pbench-" });
  const db = `${dir}/history.db`;
  const out = `${dir}/out`;
  try {
    const cmd = command.cmd.map((part) => part === "{DB}" ? db : part === "{OUT}" ? out : part);
    const started = performance.now();
    // In the run's directory: masscan leaves its paused.conf where it runs.
    // Standard output goes nowhere, as when a user redirects it: the terminal
    // table of a /16 is tens of MB, and reading it here would cost CPU beside the scan.
    const result = await lab.run(cmd, { timeout: timeout * 1000, cwd: dir, stdout: "null" });
    const seconds = (performance.now() - started) / 1000;
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr)?.[1];
    const cpu = (label: string): number =>
      Number(new RegExp(`${label} time \\(seconds\\): ([\\d.]+)`).exec(result.stderr)?.[1] ?? NaN);
    // timeout(1) exits 124 after its SIGINT, 137 after the KILL that follows.
    const stopped = cmd[0] === "timeout" && (result.code === 124 || result.code === 137);
    const measured: Measure = {
      seconds,
      cpuSeconds: cpu("User") + cpu("System"),
      rssMb: rss === undefined ? NaN : Number(rss) / 1024,
      ok: (result.code === 0 || stopped) && !result.timedOut,
      note: result.timedOut ? `killed after ${timeout} s` : stopped ? "stopped by SIGINT" : "",
    };
    if (!measured.ok && measured.note === "") {
      measured.note = `exit ${result.code}: ${
        result.stderr.trim().split("\n").slice(-25, -20).join(" ")
      }`;
    }
    if (command.history) measured.historyMb = await fileMb(db);
    if (command.judge !== undefined) {
      const text = await Deno.readTextFile(out).catch(() => "");
      if (text !== "") Object.assign(measured, command.judge(text));
    }
    return measured;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function table(scenario: Scenario, rows: { command: Command; runs: Measure[] }[]): string {
  const lines = [
    `#### ${scenario.title}`,
    "",
    `| scanner | wall s (median) | cpu s (median) | peak RSS MB (max) | history MB | ${
      scenario.foundHeader ?? "port 80 found /32768"
    } | wrong | note |`,
    "| ------- | --------------: | -------------: | ----------------: | ---------: | ---: | ----: | ---- |",
  ];
  for (const { command, runs } of rows) {
    const ok = runs.filter((run) => run.ok);
    const seconds = ok.length > 0 ? median(ok.map((run) => run.seconds)).toFixed(2) : "failed";
    const cpu = ok.length > 0 ? median(ok.map((run) => run.cpuSeconds)).toFixed(2) : "";
    const rss = ok.length > 0 ? Math.max(...ok.map((run) => run.rssMb)).toFixed(0) : "";
    const history = ok[0]?.historyMb !== undefined ? ok[0].historyMb.toFixed(2) : "—";
    const found = ok.length > 0 && ok[0]?.found !== undefined
      ? String(Math.min(...ok.map((run) => run.found ?? 0)))
      : "—";
    const wrong = ok.length > 0 && ok[0]?.wrong !== undefined
      ? String(Math.max(...ok.map((run) => run.wrong ?? 0)))
      : "—";
    const note = runs.map((run) => run.note).filter((text) => text !== "").join("; ")
      .replaceAll("|", "/");
    lines.push(
      `| ${command.scanner} | ${seconds} | ${cpu} | ${rss} | ${history} | ${found} | ${wrong} | ${note} |`,
    );
  }
  lines.push("", "Commands (in the scanner namespace):", "");
  for (const { command } of rows) {
    lines.push(`- ${command.scanner}: \`${command.cmd.join(" ")}\``);
  }
  return lines.join("\n");
}

/** The router alone: the sweep's verdicts, shuffled, into a pipeline with history and JSON. */
async function synthetic(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "portolan-pbench-" });
  try {
    const db = openHistory(`${dir}/history.db`);
    const pipeline = await openPipeline({
      info: {
        version: "bench",
        args: ["portolan", "-sS", "-Pn", "-p", "80-95", "198.18.0.0/16"],
        scaninfo: [{ type: "syn", protocol: "tcp", numServices: 16, services: "80-95" }],
        start: new Date(),
      },
      report: { scanned: { tcp: SWEEP_PORTS } },
      outputs: [{ plugin: jsonOutput(), path: `${dir}/out.json` }],
      history: { db, targets: "198.18.0.0/16" },
    });
    const total = SWEEP_HOSTS * SWEEP_PORTS.length;
    const started = performance.now();
    // The sweep's hosts made afresh per verdict, as the engine looks them up.
    for (const [result, host, i] of sweepVerdicts(sweepHost)) {
      pipeline.port(result, host);
      // Let the outputs run now and then, as the engine's awaits do.
      if ((i & 4095) === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const routed = performance.now();
    (globalThis as { gc?: () => void }).gc?.();
    const heap = Deno.memoryUsage();
    console.log(
      `after routing: heap ${Math.round(heap.heapUsed / 2 ** 20)} MB, rss ${
        Math.round(heap.rss / 2 ** 20)
      } MB`,
    );
    await pipeline.finish({ probes: total, retries: 0 }, { interrupted: false });
    const done = performance.now();
    db.close();
    const history = await fileMb(`${dir}/history.db`);
    console.log(
      `synthetic: ${total} verdicts routed in ${((routed - started) / 1000).toFixed(2)} s (${
        Math.round(total / ((routed - started) / 1000))
      } verdicts/s), outputs rendered in ${((done - routed) / 1000).toFixed(2)} s, RSS ${
        Math.round(Deno.memoryUsage().rss / 2 ** 20)
      } MB now, history ${history.toFixed(2)} MB`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Entry point; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const args = parsePipelineBenchArgs(argv);
  if (args.synthetic) {
    await synthetic();
    return 0;
  }
  const support = await labSupported();
  if (!support.ok) {
    console.error(`Cannot run the pipeline bench: the lab is unsupported here: ${support.why}`);
    return 1;
  }
  const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ")[0];
  const lab = await startLab({ name: "ptlp1" });
  let failed = false;
  const tables: string[] = [];
  try {
    await enableSweep(lab);
    for (const scenario of await scenarios(lab)) {
      if (!args.scenarios.includes(scenario.name)) continue;
      const rows: { command: Command; runs: Measure[] }[] = [];
      for (const command of scenario.commands) {
        const name = command.scanner.split(" ")[0]!;
        if (args.only && !args.only.includes(name)) continue;
        const runs: Measure[] = [];
        for (let i = 0; i < args.runs; i++) {
          const run = await measure(lab, command, args.timeout);
          console.error(
            `${scenario.name} ${command.scanner}: ${run.seconds.toFixed(2)} s (cpu ${
              run.cpuSeconds.toFixed(2)
            } s), ${run.rssMb.toFixed(0)} MB${
              run.historyMb !== undefined ? `, history ${run.historyMb.toFixed(2)} MB` : ""
            }${run.found !== undefined ? `, found ${run.found}, wrong ${run.wrong}` : ""}${
              run.ok ? "" : ` FAILED ${run.note}`
            }`,
          );
          if (!run.ok && name === "portolan") failed = true;
          runs.push(run);
        }
        rows.push({ command, runs });
      }
      console.log(`${table(scenario, rows)}\n`);
      tables.push(table(scenario, rows));
    }
  } finally {
    await lab.stop();
  }
  const footer =
    `Load average (1 min) ${load} at the start; ${navigator.hardwareConcurrency} CPUs; deno ${Deno.version.deno}.`;
  console.log(footer);
  if (args.write) {
    const command = ["deno run -A bench/pipeline_bench.ts", ...argv].join(" ");
    const body = [
      `Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\`. ${footer}`,
      ...tables,
    ].join("\n\n");
    const document = await Deno.readTextFile(args.out);
    await writeMarkdown(args.out, replaceSection(document, "pipeline-runs", body));
  }
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
