/**
 * Scan benchmark of the one scheduler under both transports: SYN, IPv6, the
 * /16 sweep, a far lossy host, UDP, the connect scan of the near and the far
 * host (also as a non-root user), and a default scan and -sn of targets on
 * two links; each run side by side with nmap (`-sS -T4`, `-sT -T4`, `-sU`),
 * masscan and zmap where they apply, in one lab, from the scanner namespace.
 * Reports wall time (process start to exit), accuracy against the lab's
 * ground truth, and the raw receiver's drop count, and can write its section
 * into BENCHMARKS.md.
 *
 * Portolan runs through its command line (`main.ts`, JSON on stdout) with
 * the scan task's permissions.
 *
 * ```sh
 * deno run -A bench/raw_bench.ts [--runs 1] [--timeout 300] [--only portolan,nmap,masscan,zmap]
 *   [--scenarios near,far,sweep,sweep-default,ipv6,udp,connect-near,connect-far,connect-far-user,links,links-sn]
 *   [--write] [--out BENCHMARKS.md]
 * ```
 *
 * @module
 */

import { expectedStates, labSupported, startLab } from "../tests/lab/lab.ts";
import type { Lab } from "../tests/lab/lab.ts";
import {
  addFarHost,
  enableSweep,
  type FarHost,
  startUdpServices,
  UDP_TEST_PORTS,
  type UdpServices,
} from "../tests/lab/raw_lab.ts";
import { parsePortList } from "../tests/raw_driver.ts";
import { median, replaceSection, writeMarkdown } from "./score.ts";
import { SCAN_FLAGS } from "../tests/permissions.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const MAIN = `${ROOT}/main.ts`;

/** Options from the command line. */
export interface RawBenchArgs {
  runs: number;
  timeout: number;
  only: string[] | undefined;
  scenarios: string[];
  write: boolean;
  out: string;
}

const ALL_SCENARIOS = [
  "near",
  "far",
  "sweep",
  "sweep-default",
  "ipv6",
  "udp",
  "connect-near",
  "connect-far",
  "connect-far-user",
  "links",
  "links-sn",
];

/** A user with no privileges, for the connect scan a jump host's user runs. */
const NOBODY = 65534;

/** Seconds after which masscan is stopped with SIGINT. */
const MASSCAN_LIMIT = 20;

/** Parse the bench's command line. */
export function parseRawBenchArgs(args: string[]): RawBenchArgs {
  const parsed: RawBenchArgs = {
    runs: 1,
    timeout: 300,
    only: undefined,
    scenarios: ALL_SCENARIOS,
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
    else if (arg === "--write") parsed.write = true;
    else if (arg === "--out") parsed.out = need();
    else throw new SyntaxError(`Cannot parse option "${arg}": unknown option`);
  }
  return parsed;
}

/** One scanner's states: "address port" → state (open only, for masscan and zmap). */
type States = Map<string, string>;

interface Row {
  scanner: string;
  command: string;
  seconds: number[];
  /** Per run: how many expected verdicts were right, of how many. */
  right: number;
  total: number;
  wrong: number;
  note: string;
  drops?: number;
  /** The highest send rate portolan measured over the runs, probes/s. */
  sendRate?: number;
}

interface Scenario {
  name: string;
  title: string;
  /** Expected state per "address port". */
  truth: States;
  /** Only open ports are judged (scanners that report nothing else). */
  commands: { scanner: string; cmd: string[]; parse: (out: string) => States; openOnly: boolean }[];
  /** Wait before each run, ms (ICMP budget refill). */
  settleMs?: number;
  /** States judged: "tcp" or "udp". */
  protocol: "tcp" | "udp";
}

const decoder = new TextDecoder();

/** How {@link portolanCli} runs portolan. */
interface CliOptions {
  /** Timing flags; default ["-T4"], as nmap is run. */
  timing?: string[];
  /** -Pn; default true. */
  noPing?: boolean;
  /** Runs the command under this prefix (e.g. as another user). */
  prefix?: string[];
  /** Extra flags (e.g. --max-rate, to match what a peer is given). */
  extra?: string[];
}

/**
 * What masscan and zmap are given (--rate, -r), and portolan the same
 * --max-rate: for one host, portolan's own ceiling (300,000/s); for the
 * sweep, the 100,000/s the issues measure zmap at.
 */
const HOST_RATE = "300000";
const SWEEP_RATE = "100000";

/** The flag of a scan type. */
const SCAN_TYPES = { syn: ["-sS"], udp: ["-sU"], connect: ["-sT"], default: [] } as const;

/**
 * portolan through its command line, as `nmap -sS -T4 -Pn -n` is run, with
 * the JSON report on stdout: listed ports and, per host, the one summarised
 * (closed) state for the rest.
 */
function portolanCli(
  scan: keyof typeof SCAN_TYPES,
  targets: string[],
  ports: string,
  options: CliOptions = {},
): { cmd: string[]; parse: (out: string) => States & { drops?: number; sendRate?: number } } {
  const list = parsePortList(ports);
  return {
    cmd: [
      ...(options.prefix ?? []),
      Deno.execPath(),
      "run",
      "--quiet",
      ...SCAN_FLAGS,
      MAIN,
      ...SCAN_TYPES[scan],
      ...(options.timing ?? ["-T4"]),
      ...(options.noPing === false ? [] : ["-Pn"]),
      "-n",
      "-p",
      scan === "udp" ? `U:${ports}` : ports,
      ...(options.extra ?? []),
      "--no-db",
      "-oJ",
      "-",
      ...targets,
    ],
    parse(out: string): States & { drops?: number; sendRate?: number } {
      const data = JSON.parse(out) as {
        hosts: {
          address: string;
          ports: { port: number; state: string }[];
          extraports: { state: string }[];
        }[];
        stats: { receiverDrops?: number; sendRate?: number };
      };
      const states: States & { drops?: number; sendRate?: number } = new Map();
      for (const host of data.hosts) {
        const listed = new Map(host.ports.map((p) => [p.port, p.state]));
        const rest = host.extraports.length === 1 ? host.extraports[0]!.state : undefined;
        for (const port of list) {
          const state = listed.get(port) ?? rest;
          if (state !== undefined) states.set(`${host.address} ${port}`, state);
        }
      }
      if (data.stats.receiverDrops !== undefined) states.drops = data.stats.receiverDrops;
      if (data.stats.sendRate !== undefined) states.sendRate = data.stats.sendRate;
      return states;
    },
  };
}

function parseNmap(xml: string): States {
  const states: States = new Map();
  for (const host of xml.split("<host ").slice(1)) {
    const address = /<address addr="([^"]+)" addrtype="ipv[46]"/.exec(host)?.[1];
    if (address === undefined) continue;
    for (
      const match of host.matchAll(/<port protocol="\w+" portid="(\d+)"><state state="([^"]+)"/g)
    ) {
      states.set(`${address} ${match[1]}`, match[2]!);
    }
    // Ports folded into <extraports> carry their state there; list them when named.
    for (
      const extra of host.matchAll(/<extraports state="([^"]+)"[^>]*>([\s\S]*?)<\/extraports>/g)
    ) {
      for (const reason of extra[2]!.matchAll(/<extrareasons [^>]*ports="([^"]+)"/g)) {
        for (const part of reason[1]!.split(",")) {
          const [low, high] = part.split("-").map(Number);
          for (let port = low!; port <= (high ?? low!); port++) {
            states.set(`${address} ${port}`, extra[1]!);
          }
        }
      }
    }
  }
  return states;
}

function parseMasscan(list: string): States {
  const states: States = new Map();
  for (const line of list.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === "open" && fields.length >= 4) states.set(`${fields[3]} ${fields[2]}`, "open");
  }
  return states;
}

function parseZmap(port: number): (out: string) => States {
  return (out) => {
    const states: States = new Map();
    for (const line of out.split("\n")) {
      const address = line.trim();
      if (/^\d+\.\d+\.\d+\.\d+$/.test(address)) states.set(`${address} ${port}`, "open");
    }
    return states;
  };
}

async function run(
  lab: Lab,
  cmd: string[],
  timeout: number,
): Promise<{ seconds: number; out: string; ok: boolean; err: string; stopped: boolean }> {
  const started = performance.now();
  const result = await lab.run(cmd, { timeout: timeout * 1000 });
  const seconds = (performance.now() - started) / 1000;
  // 124 or 137: `timeout` stopped it (masscan); what it printed by then is judged.
  const stopped = cmd[0] === "timeout" && (result.code === 124 || result.code === 137);
  return {
    seconds,
    out: result.stdout,
    ok: (result.code === 0 || stopped) && !result.timedOut,
    err: result.timedOut
      ? `did not finish in ${timeout} s (killed)`
      : result.stderr.trim().slice(-300) || `exit code ${result.code}`,
    stopped,
  };
}

function score(
  truth: States,
  got: States,
  openOnly: boolean,
): { right: number; total: number; wrong: number } {
  let right = 0;
  let total = 0;
  let wrong = 0;
  for (const [key, expected] of truth) {
    if (openOnly && expected !== "open") continue;
    total++;
    const state = got.get(key);
    if (state === expected) right++;
    else wrong++;
  }
  if (openOnly) {
    for (const [key, state] of got) if (state === "open" && truth.get(key) !== "open") wrong++;
  }
  return { right, total, wrong };
}

async function linkMac(ns: string, dev: string): Promise<string> {
  const out = await new Deno.Command("ip", {
    args: ["-n", ns, "link", "show", dev],
    stdout: "piped",
  }).output();
  const mac = /link\/ether ([0-9a-f:]+)/.exec(decoder.decode(out.stdout))?.[1];
  if (mac === undefined) throw new Error(`Cannot read the MAC of ${dev} in ${ns}`);
  return mac;
}

function portRange(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

function truthFor(address: string, states: Map<number, string>): States {
  const truth: States = new Map();
  for (const [port, state] of states) truth.set(`${address} ${port}`, state);
  return truth;
}

/** What {@link startUdpServices} sets up: answered on 53, 161, 11211; 123 dropped. */
const UDP_OPEN = [53, 161, 11211];
const UDP_DROPPED = [123];

async function scenarios(lab: Lab, far: FarHost): Promise<Scenario[]> {
  const prefix = lab.scanNs.replace(/-scan$/, "");
  const scanIf = `${prefix}-s0`;
  const targetMac = await linkMac(lab.targetNs, `${prefix}-t0`);
  const nmapOut = ["-oX", "-"];
  // masscan 1.3.2 keeps running past its --wait here (its countdown goes negative).
  // The far host sits on the scanner's second link, behind the delay line.
  const farIf = `${prefix}-ft`;
  const farMac = await linkMac(`${prefix}-far`, `${prefix}-ff`);
  const masscan = (
    targets: string,
    ports: string,
    link: { dev: string; mac: string } = { dev: scanIf, mac: targetMac },
    rate = HOST_RATE,
  ): string[] => [
    "timeout",
    "-s",
    "INT",
    "-k",
    "5",
    String(MASSCAN_LIMIT),
    "masscan",
    targets,
    "-p",
    ports,
    "--rate",
    rate,
    "-e",
    link.dev,
    "--router-mac",
    link.mac,
    "--wait",
    "2",
    "-oL",
    "-",
  ];
  const near = truthFor(lab.target4, expectedStates(lab, portRange(1, 65535)));
  const near6 = truthFor(lab.target6, expectedStates(lab, portRange(1, 65535)));
  const farTruth = truthFor(
    far.address4,
    expectedStates({ open: far.open, dropped: far.dropped, prohibited: [] }, portRange(1, 10000)),
  );
  const sweep: States = new Map();
  for (let i = 0; i < 65536; i++) {
    sweep.set(`198.18.${i >> 8}.${i & 255} 80`, i < 32768 ? "open" : "filtered");
  }
  const list: Scenario[] = [
    {
      name: "near",
      title: "All 65535 ports of a near host (19 open, 100 dropped, 1 admin-prohibited)",
      truth: near,
      protocol: "tcp",
      commands: [
        {
          scanner: "portolan",
          ...portolanCli("syn", [lab.target4], "1-65535", { extra: ["--max-rate", HOST_RATE] }),
          openOnly: false,
        },
        {
          scanner: "nmap",
          cmd: ["nmap", "-sS", "-T4", "-Pn", "-n", "-p-", lab.target4, ...nmapOut],
          parse: parseNmap,
          openOnly: false,
        },
        {
          scanner: "masscan",
          cmd: masscan(lab.target4, "1-65535"),
          parse: parseMasscan,
          openOnly: true,
        },
      ],
    },
    {
      name: "far",
      title: "Ports 1–10000 of a host 50 ms away with 1% loss each way (4 open, 1 dropped)",
      truth: farTruth,
      protocol: "tcp",
      commands: [
        {
          scanner: "portolan",
          ...portolanCli("syn", [far.address4], "1-10000", { extra: ["--max-rate", HOST_RATE] }),
          openOnly: false,
        },
        {
          scanner: "nmap",
          cmd: ["nmap", "-sS", "-T4", "-Pn", "-n", "-p1-10000", far.address4, ...nmapOut],
          parse: parseNmap,
          openOnly: false,
        },
        {
          scanner: "masscan",
          cmd: masscan(far.address4, "1-10000", { dev: farIf, mac: farMac }),
          parse: parseMasscan,
          openOnly: true,
        },
      ],
    },
    {
      name: "sweep",
      title: "Port 80 across 198.18.0.0/16: lower half answers, upper half dark",
      truth: sweep,
      protocol: "tcp",
      commands: [
        {
          scanner: "portolan",
          // As a user runs it (no -Pn): discovery is folded into the one-port scan.
          ...portolanCli("syn", ["198.18.0.0/16"], "80", {
            noPing: false,
            extra: ["--max-rate", SWEEP_RATE],
          }),
          // Hosts that answered nothing are not listed: judged, like zmap, on what it found open.
          openOnly: true,
        },
        {
          scanner: "nmap",
          cmd: ["nmap", "-sS", "-T4", "-Pn", "-n", "-p80", "198.18.0.0/16", ...nmapOut],
          parse: parseNmap,
          openOnly: false,
        },
        {
          scanner: "masscan",
          cmd: masscan("198.18.0.0/16", "80", undefined, SWEEP_RATE),
          parse: parseMasscan,
          openOnly: true,
        },
        {
          scanner: "zmap",
          cmd: [
            "zmap",
            "-p",
            "80",
            "-r",
            SWEEP_RATE,
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
            "-",
            "198.18.0.0/16",
          ],
          parse: parseZmap(80),
          openOnly: true,
        },
      ],
    },
    {
      name: "sweep-default",
      title: "Port 80 across 198.18.0.0/16 with no rate flag: the sweep ceiling (14,880 probes/s)",
      truth: sweep,
      protocol: "tcp",
      commands: [
        {
          scanner: "portolan",
          ...portolanCli("syn", ["198.18.0.0/16"], "80", { noPing: false }),
          openOnly: true,
        },
      ],
    },
    {
      name: "ipv6",
      title: "All 65535 ports of an IPv6 host",
      truth: near6,
      protocol: "tcp",
      commands: [
        {
          scanner: "portolan",
          ...portolanCli("syn", [lab.target6], "1-65535", { extra: ["--max-rate", HOST_RATE] }),
          openOnly: false,
        },
        {
          scanner: "nmap",
          cmd: ["nmap", "-6", "-sS", "-T4", "-Pn", "-n", "-p-", lab.target6, ...nmapOut],
          parse: parseNmap,
          openOnly: false,
        },
        {
          scanner: "masscan",
          cmd: masscan(lab.target6, "1-65535"),
          parse: parseMasscan,
          openOnly: true,
        },
      ],
    },
    ...connectScenarios(lab, far, farTruth, near),
    ...linkScenarios(lab, far),
  ];
  {
    const truth: States = new Map();
    for (const port of UDP_TEST_PORTS) {
      truth.set(
        `${lab.target4} ${port}`,
        UDP_OPEN.includes(port) ? "open" : UDP_DROPPED.includes(port) ? "open|filtered" : "closed",
      );
    }
    list.push({
      name: "udp",
      title: "UDP on 16 common ports (dnsmasq, snmpd, memcached; 123 dropped)",
      truth,
      protocol: "udp",
      settleMs: 10_000,
      commands: [
        {
          scanner: "portolan",
          ...portolanCli("udp", [lab.target4], UDP_TEST_PORTS.join(",")),
          openOnly: false,
        },
        {
          scanner: "nmap",
          cmd: [
            "nmap",
            "-sU",
            "-T4",
            "-Pn",
            "-n",
            "-p",
            UDP_TEST_PORTS.join(","),
            lab.target4,
            ...nmapOut,
          ],
          parse: parseNmap,
          openOnly: false,
        },
      ],
    });
  }
  return list;
}

/**
 * The connect scan, as a user of a jump host runs it: `-sT` with portolan's
 * default timing beside `nmap -sT -T4`, on the near host (all ports) and the
 * far one (ports 1–10000), the far one also as an unprivileged user.
 */
function connectScenarios(lab: Lab, far: FarHost, farTruth: States, near: States): Scenario[] {
  const nmapOut = ["-oX", "-"];
  // Deno's cache for the unprivileged user: its own, so nothing of root's is needed.
  const userDir = "/tmp/portolan-bench-nobody";
  Deno.mkdirSync(userDir, { recursive: true });
  Deno.chmodSync(userDir, 0o777);
  const asNobody = [
    "setpriv",
    `--reuid=${NOBODY}`,
    `--regid=${NOBODY}`,
    "--clear-groups",
    "env",
    `HOME=${userDir}`,
    `DENO_DIR=${userDir}`,
  ];
  return [
    {
      name: "connect-near",
      title: "Connect scan, all 65535 ports of the near host (19 open, 1 accepting and resetting)",
      truth: near,
      protocol: "tcp",
      commands: [
        {
          scanner: "portolan",
          ...portolanCli("connect", [lab.target4], "1-65535", { timing: [] }),
          openOnly: false,
        },
        {
          scanner: "nmap",
          cmd: ["nmap", "-sT", "-T4", "-Pn", "-n", "-p-", lab.target4, ...nmapOut],
          parse: parseNmap,
          openOnly: false,
        },
      ],
    },
    ...[false, true].map((user): Scenario => ({
      name: user ? "connect-far-user" : "connect-far",
      title: `Connect scan, ports 1–10000 of a host 50 ms away with 1% loss each way${
        user ? ", as an unprivileged user (uid 65534)" : ""
      }`,
      truth: farTruth,
      protocol: "tcp",
      commands: [
        {
          scanner: "portolan",
          ...portolanCli("connect", [far.address4], "1-10000", {
            timing: [],
            ...(user ? { prefix: asNobody } : {}),
          }),
          openOnly: false,
        },
        {
          scanner: "nmap",
          cmd: [
            ...(user ? asNobody.slice(0, 4) : []),
            "nmap",
            "-sT",
            "-T4",
            "-Pn",
            "-n",
            "-p1-10000",
            far.address4,
            ...nmapOut,
          ],
          parse: parseNmap,
          openOnly: false,
        },
      ],
    })),
  ];
}

/** Ports of the two-link scenario: open, closed, dropped and the resetting service. */
const LINK_PORTS = [22, 25, 80, 443, 3389, 7070, 8080];

/**
 * Targets on two links of the scanner (the lab host, and the far host on a
 * second link behind the delay line): a default scan as root (discovery,
 * then SYN) and -sn, beside nmap's own defaults.
 */
function linkScenarios(lab: Lab, far: FarHost): Scenario[] {
  const nmapOut = ["-oX", "-"];
  const targets = [lab.target4, far.address4];
  const truth: States = new Map();
  for (const [port, state] of expectedStates(lab, LINK_PORTS)) {
    truth.set(`${lab.target4} ${port}`, state);
  }
  const farStates = expectedStates(
    { open: far.open, dropped: far.dropped, prohibited: [] },
    LINK_PORTS,
  );
  for (const [port, state] of farStates) truth.set(`${far.address4} ${port}`, state);
  const up: States = new Map(targets.map((address) => [`${address} up`, "up"]));
  return [
    {
      name: "links",
      title: "Default scan as root of two hosts on two links (discovery, then SYN)",
      truth,
      protocol: "tcp",
      commands: [
        {
          scanner: "portolan",
          ...portolanCli("default", targets, LINK_PORTS.join(","), { noPing: false }),
          openOnly: false,
        },
        {
          scanner: "nmap",
          cmd: ["nmap", "-T4", "-n", "-p", LINK_PORTS.join(","), ...targets, ...nmapOut],
          parse: parseNmap,
          openOnly: false,
        },
      ],
    },
    {
      name: "links-sn",
      title: "Host discovery (-sn) of two hosts on two links",
      truth: up,
      protocol: "tcp",
      commands: [
        {
          scanner: "portolan",
          cmd: [
            Deno.execPath(),
            "run",
            "--quiet",
            ...SCAN_FLAGS,
            MAIN,
            "-sn",
            "-n",
            "--no-db",
            "-oJ",
            "-",
            ...targets,
          ],
          parse: (out) => {
            const hosts =
              (JSON.parse(out) as { hosts: { address: string; state: string }[] }).hosts;
            return new Map(hosts.map((host) => [`${host.address} ${host.state}`, host.state]));
          },
          openOnly: false,
        },
        {
          scanner: "nmap",
          cmd: ["nmap", "-sn", "-T4", "-n", ...targets, ...nmapOut],
          parse: (xml) => {
            const states: States = new Map();
            for (const host of xml.split("<host").slice(1)) {
              const state = /<status state="(\w+)"/.exec(host)?.[1];
              const address = /<address addr="([^"]+)" addrtype="ipv[46]"/.exec(host)?.[1];
              if (state && address) states.set(`${address} ${state}`, state);
            }
            return states;
          },
          openOnly: false,
        },
      ],
    },
  ];
}

function display(cmd: string[]): string {
  return cmd.map((part) => part === MAIN ? "main.ts" : part === Deno.execPath() ? "deno" : part)
    .join(" ");
}

function table(scenario: Scenario, rows: Row[]): string {
  const lines = [
    `#### ${scenario.title}`,
    "",
    "| scanner | wall s (median) | min–max s | right | wrong | receiver drops | note |",
    "| ------- | --------------: | --------: | ----: | ----: | -------------: | ---- |",
  ];
  for (const row of rows) {
    const seconds = row.seconds.length > 0
      ? [
        median(row.seconds).toFixed(2),
        `${Math.min(...row.seconds).toFixed(2)}–${Math.max(...row.seconds).toFixed(2)}`,
      ]
      : ["failed", ""];
    lines.push(
      `| ${row.scanner} | ${seconds[0]} | ${
        seconds[1]
      } | ${row.right}/${row.total} | ${row.wrong} | ${row.drops ?? "n/a"} | ${row.note} |`,
    );
  }
  lines.push("", "Commands (in the scanner namespace):", "");
  for (const row of rows) lines.push(`- ${row.scanner}: \`${row.command}\``);
  return lines.join("\n");
}

/** The 1-minute load average, or "unknown". */
async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ")[0] ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Entry point; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const args = parseRawBenchArgs(argv);
  // The machine may be shared: its load is written beside the figures.
  const loadAtStart = await loadAverage();
  const support = await labSupported();
  if (!support.ok) {
    console.error(`Cannot run the raw bench: the lab is unsupported here: ${support.why}`);
    return 1;
  }
  const lab = await startLab({ name: "ptlrb" });
  const sections: string[] = [];
  let failed = false;
  try {
    const far = await addFarHost(lab, {
      delayMs: 25,
      loss: 0.01,
      open: [22, 80, 443, 8080],
      dropped: [3389],
      secondLink: true,
    });
    await enableSweep(lab);
    let udp: UdpServices | undefined;
    for (const scenario of await scenarios(lab, far)) {
      if (!args.scenarios.includes(scenario.name)) continue;
      if (scenario.protocol === "udp") {
        // Started only now: dnsmasq and memcached also open TCP 53 and 11211.
        try {
          udp = await startUdpServices(lab);
        } catch (error) {
          console.error(`UDP scenario skipped: ${(error as Error).message}`);
          continue;
        }
      }
      const rows: Row[] = [];
      for (const command of scenario.commands) {
        if (args.only && !args.only.includes(command.scanner)) continue;
        const row: Row = {
          scanner: command.scanner,
          command: display(command.cmd),
          seconds: [],
          right: 0,
          total: 0,
          wrong: 0,
          note: !command.openOnly
            ? ""
            : command.scanner === "portolan"
            ? "lists hosts that answered: judged on open ports"
            : "reports open ports only: judged on those",
        };
        for (let i = 0; i < args.runs; i++) {
          if (scenario.settleMs) {
            await new Promise((resolve) => setTimeout(resolve, scenario.settleMs));
          }
          const result = await run(lab, command.cmd, args.timeout);
          console.error(
            `${scenario.name} ${command.scanner}: ${result.seconds.toFixed(2)} s${
              result.ok ? "" : ` FAILED ${result.err}`
            }`,
          );
          if (!result.ok) {
            row.note = `failed: ${result.err.trim().split("\n").pop() ?? ""}`.replaceAll("|", "/");
            if (command.scanner === "portolan") failed = true;
            break;
          }
          if (result.stopped) {
            row.note = `did not exit; stopped by SIGINT at ${MASSCAN_LIMIT} s (KILL 5 s later)`;
          }
          const states = command.parse(result.out) as States & {
            drops?: number;
            sendRate?: number;
          };
          const judged = score(scenario.truth, states, command.openOnly);
          row.seconds.push(result.seconds);
          // Keep the worst run's accuracy.
          if (row.seconds.length === 1 || judged.wrong > row.wrong) Object.assign(row, judged);
          if (states.drops !== undefined) row.drops = Math.max(row.drops ?? 0, states.drops);
          if (states.sendRate !== undefined) {
            row.sendRate = Math.max(row.sendRate ?? 0, states.sendRate);
            const rate = `send rate measured ${row.sendRate.toLocaleString("en-US")}/s`;
            const base = row.note.replace(/(^|; )send rate measured .*$/, "");
            row.note = base === "" ? rate : `${base}; ${rate}`;
          }
        }
        rows.push(row);
      }
      const text = table(scenario, rows);
      console.log(`${text}\n`);
      sections.push(text);
    }
    await far.stop();
    await udp?.stop();
  } finally {
    await lab.stop();
  }
  if (args.write) {
    const body = [
      "### One scheduler, both transports: SYN, IPv6, the /16 sweep, a lossy far host, UDP, connect scans, two links",
      "",
      `Measured ${
        new Date().toISOString().slice(0, 10)
      } with \`deno run -A bench/raw_bench.ts --runs ${args.runs} --write\` on ${navigator.hardwareConcurrency} CPUs, deno ${Deno.version.deno}. Wall time is process start to exit (deno's start-up included). The far host sits on a second link of the scanner, behind a userspace delay line (25 ms each way), with iptables \`statistic\` dropping 1% of packets each way at the far host. masscan and zmap report open ports only and are judged on those; portolan is given the \`--max-rate\` they are given as \`--rate\` / \`-r\`: 300,000 for one host (portolan's own ceiling there), 100,000 for the sweep (its default ceiling for more than 256 hosts is 14,880 probes/s: the sweep-default row). The "send rate measured" is portolan's own count: the most probes it sent in any one-second window. Load average (1 min) ${loadAtStart} at the start, ${await loadAverage()} at the end. portolan runs through \`main.ts\` with the scan task's permissions; its JSON report, like nmap's XML, summarises closed ports.`,
      "",
      ...sections.flatMap((section) => [section, ""]),
    ].join("\n");
    const document = await Deno.readTextFile(args.out).catch(() => "# Benchmarks\n");
    await writeMarkdown(args.out, replaceSection(document, "raw", body));
  }
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
