/**
 * Service detection benchmark: portolan's `-sV` beside `nmap -sV` on the
 * same open ports of the lab's target, which runs real daemons (vsftpd,
 * OpenSSH, dnsmasq, nginx, redis, memcached) and greeters (Exim-like,
 * Dovecot-like, Dropbear-like, tarpit, silent, hostile banner, reset at
 * once, slow drip). Measures wall time and, on every identifiable port,
 * whether the service name and product are right.
 *
 * ```sh
 * deno run -A bench/service_bench.ts [--runs 1] [--timeout 600] [--only nmap,portolan]
 *                                    [--intensity 7] [--write] [--out BENCHMARKS.md]
 * ```
 *
 * portolan runs through its CLI (`main.ts -sV`) when the CLI knows `-sV`,
 * else through the library (`tests/lab/service_probe.ts`, the same engine
 * without the port scan). Needs root (network namespaces).
 *
 * @module
 */

import { labSupported, startLab } from "../tests/lab/lab.ts";
import type { Lab } from "../tests/lab/lab.ts";
import { LAB_SERVICES, SERVICE_PORTS } from "../tests/lab/services.ts";
import { median, replaceSection, writeMarkdown } from "./score.ts";
import { SCAN_FLAGS } from "../tests/permissions.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const MAIN = `${ROOT}/main.ts`;
const PROBE = `${ROOT}/tests/lab/service_probe.ts`;

/** Options from the command line. */
export interface ServiceBenchArgs {
  runs: number;
  /** Per-run hard timeout, seconds. */
  timeout: number;
  intensity: number;
  only: string[] | undefined;
  write: boolean;
  out: string;
}

/**
 * Parses the benchmark's command line.
 *
 * @throws {SyntaxError} on an unknown option or a missing value.
 * @throws {RangeError} on a bad number.
 */
export function parseServiceBenchArgs(args: readonly string[]): ServiceBenchArgs {
  const parsed: ServiceBenchArgs = {
    runs: 1,
    timeout: 600,
    intensity: 7,
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
    if (arg === "--runs" || arg === "--timeout" || arg === "--intensity") {
      const number = Number(value);
      const ok = /^\d+$/.test(value) &&
        (arg === "--intensity" ? number <= 9 : number >= 1);
      if (!ok) {
        throw new RangeError(
          `Cannot parse ${arg} "${value}": must be ${
            arg === "--intensity" ? "0-9" : "a positive integer"
          }`,
        );
      }
      if (arg === "--runs") parsed.runs = number;
      else if (arg === "--timeout") parsed.timeout = number;
      else parsed.intensity = number;
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

/** What a scanner said about one port. */
export interface PortService {
  name?: string;
  product?: string;
  version?: string;
  tunnel?: string;
}

function attribute(tag: string, name: string): string | undefined {
  const found = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  if (found === null) return undefined;
  return (found[1] as string).replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">")
    .replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}

/**
 * Services by port from nmap XML (nmap's or portolan's `-oX`).
 *
 * @example
 * ```ts
 * import { parseXmlServices } from "./service_bench.ts";
 * const xml = '<port protocol="tcp" portid="22"><state state="open"/>' +
 *   '<service name="ssh" product="OpenSSH" method="probed"/></port>';
 * parseXmlServices(xml).get(22)?.product; // "OpenSSH"
 * ```
 */
export function parseXmlServices(xml: string): Map<number, PortService> {
  const services = new Map<number, PortService>();
  for (const found of xml.matchAll(/<port\s[^>]*portid="(\d+)"[^>]*>([\s\S]*?)<\/port>/g)) {
    const port = Number(found[1]);
    const tag = /<service\s[^>]*?\/?>/.exec(found[2] as string)?.[0];
    if (tag === undefined) {
      services.set(port, {});
      continue;
    }
    // A name nmap only took from its port table is no detection.
    const probed = attribute(tag, "method") === "probed";
    const entry: PortService = {};
    for (const key of ["name", "product", "version", "tunnel"] as const) {
      const value = attribute(tag, key);
      if (value !== undefined && (probed || key !== "name")) entry[key] = value;
    }
    services.set(port, entry);
  }
  return services;
}

/** Services by port from portolan's JSON report or `service_probe.ts` output. */
export function parseJsonServices(text: string): Map<number, PortService> {
  const data = JSON.parse(text);
  const ports: { port: number; service?: Record<string, unknown> }[] = data.ports ??
    (data.hosts ?? []).flatMap((host: { ports: unknown[] }) => host.ports);
  const services = new Map<number, PortService>();
  for (const { port, service } of ports) {
    const entry: PortService = {};
    for (const key of ["name", "product", "version", "tunnel"] as const) {
      const value = service?.[key];
      if (typeof value === "string" && value !== "") entry[key] = value;
    }
    services.set(port, entry);
  }
  return services;
}

/** How many identifiable ports got name and product right, and which did not. */
export function scoreServices(
  found: ReadonlyMap<number, PortService>,
): { right: number; total: number; wrong: string[] } {
  let right = 0;
  const wrong: string[] = [];
  const identifiable = LAB_SERVICES.filter((service) => service.expect !== undefined);
  for (const service of identifiable) {
    const expect = service.expect as { name: string; product?: string };
    const got = found.get(service.port);
    if (got?.name === expect.name && got?.product === expect.product) right++;
    else wrong.push(`${service.port} (${got?.name ?? "-"}/${got?.product ?? "-"})`);
  }
  return { right, total: identifiable.length, wrong };
}

interface Tool {
  name: string;
  display: string;
  command(out: string): string[];
  parse(text: string): Map<number, PortService>;
  extension: string;
  unavailable?: string;
}

async function output(cmd: string[]): Promise<string | undefined> {
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

async function portolanTool(intensity: number): Promise<Tool> {
  const ports = SERVICE_PORTS.join(",");
  const help = await output([Deno.execPath(), "run", "-A", MAIN, "--help"]) ?? "";
  if (/-sV\b/.test(help)) {
    const args = (out: string): string[] => [
      "--no-db",
      "-sV",
      "--version-intensity",
      String(intensity),
      "-Pn",
      "-n",
      "-p",
      ports,
      "-oJ",
      out,
      "198.51.100.2",
    ];
    return {
      name: "portolan",
      // The scan task's permissions: as root the port scan is SYN, as nmap's is.
      display: ["deno", "run", ...SCAN_FLAGS, "main.ts", ...args("OUT.json")].join(" "),
      command: (out) => [Deno.execPath(), "run", ...SCAN_FLAGS, MAIN, ...args(out)],
      parse: parseJsonServices,
      extension: "json",
    };
  }
  const args = ["198.51.100.2", ports, "--intensity", String(intensity)];
  return {
    name: "portolan",
    display: ["deno", "run", "--allow-net", "tests/lab/service_probe.ts", ...args].join(" ") +
      " > OUT.json",
    command: (out) => [
      "sh",
      "-c",
      `exec "$@" > '${out}'`,
      "sh",
      Deno.execPath(),
      "run",
      "--quiet",
      "--no-lock",
      "--allow-net",
      PROBE,
      ...args,
    ],
    parse: parseJsonServices,
    extension: "json",
  };
}

function nmapTool(available: boolean, intensity: number): Tool {
  const args = (out: string): string[] => [
    "-sT",
    "-sV",
    "--version-intensity",
    String(intensity),
    "-Pn",
    "-n",
    "-p",
    SERVICE_PORTS.join(","),
    "-oX",
    out,
    "198.51.100.2",
  ];
  return {
    name: "nmap",
    display: ["nmap", ...args("OUT.xml")].join(" "),
    command: (out) => ["nmap", ...args(out)],
    parse: parseXmlServices,
    extension: "xml",
    ...(available ? {} : { unavailable: "nmap is not installed (apt-get install nmap)" }),
  };
}

interface RunRecord {
  seconds: number;
  found: Map<number, PortService>;
}

async function runOnce(lab: Lab, tool: Tool, dir: string, timeout: number): Promise<RunRecord> {
  const out = `${dir}/${tool.name}.${tool.extension}`;
  await Deno.remove(out).catch(() => {});
  const started = performance.now();
  const result = await lab.run(["timeout", "-s", "KILL", String(timeout), ...tool.command(out)], {
    cwd: ROOT,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    timeout: (timeout + 15) * 1000,
  });
  const seconds = (performance.now() - started) / 1000;
  if (result.timedOut || result.code === 137) {
    throw new Error(`${tool.name} killed after the ${timeout} s timeout`);
  }
  if (result.code !== 0) {
    const text = (result.stderr.trim() || result.stdout.trim()).split("Stack backtrace:")[0] ?? "";
    throw new Error(
      `${tool.name} exited ${result.code}: ${text.trim().split("\n").slice(-3).join(" / ")}`,
    );
  }
  return { seconds, found: tool.parse(await Deno.readTextFile(out)) };
}

function cell(service: PortService | undefined): string {
  if (service === undefined) return "";
  const name = service.name === undefined
    ? "–"
    : `${service.tunnel === "ssl" ? "ssl/" : ""}${service.name}`;
  const product = [service.product, service.version].filter(Boolean).join(" ");
  return `${name}${product === "" ? "" : ` ${product}`}`.replaceAll("|", "\\|");
}

/** Entry point; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const args = parseServiceBenchArgs(argv);
  const support = await labSupported();
  if (!support.ok) {
    console.error(`Cannot run the bench: the lab is unsupported here: ${support.why}`);
    return 1;
  }
  const nmapVersion = (await output(["nmap", "--version"]))?.match(/Nmap version (\S+)/)?.[1];
  let tools = [
    await portolanTool(args.intensity),
    nmapTool(nmapVersion !== undefined, args.intensity),
  ];
  if (args.only) {
    const only = args.only;
    tools = tools.filter((tool) => only.includes(tool.name));
    if (tools.length === 0) {
      throw new SyntaxError(`Cannot parse --only "${only.join(",")}": no such scanner`);
    }
  }
  const results = tools.map((tool) => ({
    tool,
    runs: [] as RunRecord[],
    error: tool.unavailable,
  }));
  const dir = await Deno.makeTempDir({ prefix: "portolan_service_bench_" });
  const lab = await startLab({ name: "ptlsb", services: true });
  const onSignal = (): void => {
    console.error("interrupted: tearing the lab down");
    lab.stop().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    if ((lab.services?.missing ?? []).length > 0) {
      throw new Error(`Cannot run the bench: daemons missing: ${lab.services?.missing.join(", ")}`);
    }
    // Warm-up: Deno's module cache, so the first timed run compiles nothing.
    for (const result of results) {
      if (result.error !== undefined || result.tool.name !== "portolan") continue;
      await runOnce(lab, result.tool, dir, args.timeout).catch((error) => {
        result.error = `warm-up: ${(error as Error).message}`;
      });
    }
    for (let run = 0; run < args.runs; run++) {
      for (const result of results) {
        if (result.error !== undefined) continue;
        try {
          const record = await runOnce(lab, result.tool, dir, args.timeout);
          result.runs.push(record);
          const score = scoreServices(record.found);
          console.error(
            `run ${run + 1}/${args.runs} ${result.tool.name}: ${record.seconds.toFixed(2)} s, ` +
              `${score.right}/${score.total} right${
                score.wrong.length > 0 ? `, wrong: ${score.wrong.join(" ")}` : ""
              }`,
          );
        } catch (error) {
          result.error = (error as Error).message;
          console.error(`run ${run + 1}/${args.runs} ${result.tool.name}: ${result.error}`);
        }
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await lab.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  const summary = [
    `| scanner | wall s (median of ${args.runs}) | min–max s | name + product right | wrong |`,
    "| --- | ---: | ---: | ---: | --- |",
  ];
  for (const { tool, runs, error } of results) {
    if (runs.length === 0) {
      summary.push(
        `| ${tool.name} | failed: ${(error ?? "no run").replaceAll("|", "\\|")} | | | |`,
      );
      continue;
    }
    const seconds = runs.map((run) => run.seconds);
    const worst = runs.map((run) => scoreServices(run.found))
      .reduce((a, b) => (b.right < a.right ? b : a));
    summary.push(
      `| ${tool.name} | ${median(seconds).toFixed(2)} | ${Math.min(...seconds).toFixed(2)}–${
        Math.max(...seconds).toFixed(2)
      } | ${worst.right}/${worst.total} | ${worst.wrong.join(", ") || "none"} |`,
    );
  }
  const ran = results.filter((result) => result.runs.length > 0);
  const perPort = [
    `| port | lab service | ${ran.map((result) => result.tool.name).join(" | ")} |`,
    `| ---: | --- | ${ran.map(() => "---").join(" | ")} |`,
    ...LAB_SERVICES.map((service) => {
      const label = service.expect === undefined
        ? `${service.program} (unidentifiable)`
        : `${service.program}: ${
          service.expect.tunnel === "ssl" ? "ssl/" : ""
        }${service.expect.name} ${service.expect.product ?? ""}`;
      const cells = ran.map((result) => cell(result.runs.at(-1)?.found.get(service.port)));
      return `| ${service.port} | ${label.trim()} | ${cells.join(" | ")} |`;
    }),
  ];
  const portolan = results.find((result) => result.tool.name === "portolan");
  const nmap = results.find((result) => result.tool.name === "nmap");
  const ratio = portolan && nmap && portolan.runs.length > 0 && nmap.runs.length > 0
    ? median(portolan.runs.map((run) => run.seconds)) / median(nmap.runs.map((run) => run.seconds))
    : undefined;
  const commandLine = ["deno", "run", "-A", "bench/service_bench.ts", ...argv].join(" ");
  const section = [
    `### Service detection (-sV): ${SERVICE_PORTS.length} open ports of one lab host`,
    "",
    `Measured ${
      new Date().toISOString().slice(0, 10)
    } with \`${commandLine}\` on ${navigator.hardwareConcurrency} CPUs, deno ${Deno.version.deno}, ${
      nmapVersion ? `nmap ${nmapVersion}` : "no nmap"
    }.`,
    "",
    ...summary,
    "",
    ratio === undefined
      ? "No time ratio: a scanner did not run."
      : `portolan's time is ${ratio.toFixed(3)} × nmap's.`,
    "",
    `"Right" means service name and product as the lab runs them, on the ${
      LAB_SERVICES.filter((service) => service.expect).length
    } identifiable ports; the tarpit, silent, hostile, reset and slow-drip ports have no right answer ` +
    "and are shown for what each scanner made of them (last run).",
    "",
    ...perPort,
    "",
    "Commands (in the scanner namespace):",
    "",
    ...results.map(({ tool }) => `- ${tool.name}: \`${tool.display}\``),
    ...results.filter((result) => result.error).map((result) =>
      `- ${result.tool.name} error: ${result.error}`
    ),
  ].join("\n");
  console.log(section);

  const failed = results.filter((result) => result.error !== undefined);
  if (args.write) {
    if (failed.length > 0) {
      console.error(`not writing ${args.out}: ${failed.map((r) => r.tool.name).join(", ")} failed`);
    } else {
      const document = await Deno.readTextFile(args.out).catch(() => "# Benchmarks\n");
      await writeMarkdown(args.out, replaceSection(document, "service", section));
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
