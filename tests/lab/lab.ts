/**
 * The network test lab: two network namespaces joined by a veth pair, a
 * scanner with no route out and a target with known open, closed, dropped
 * and admin-prohibited TCP ports. Needs root and iproute2/iptables.
 *
 * ```ts
 * import { startLab } from "./lab.ts";
 * const lab = await startLab();
 * try {
 *   await lab.run(["nmap", "-sT", "-Pn", "-p", "22", lab.target4]);
 * } finally {
 *   await lab.stop();
 * }
 * ```
 *
 * @module
 */

import { type LabServices, SERVICE_PORTS, startServices } from "./services.ts";

/** Scanner address, IPv4. */
export const SCANNER4 = "198.51.100.1";
/** Scanner address, IPv6. */
export const SCANNER6 = "2001:db8:1::1";
/** Target address, IPv4. */
export const TARGET4 = "198.51.100.2";
/** Target address, IPv6. */
export const TARGET6 = "2001:db8:1::2";

/** TCP ports with a listener on the target. */
export const OPEN_PORTS: readonly number[] = Object.freeze([
  1,
  21,
  22,
  25,
  80,
  443,
  3306,
  5432,
  6379,
  8080,
  8443,
  31337,
  33333, // ephemeral range from here on (Linux: 32768-60999)
  40000,
  45678,
  49152,
  55555,
  60000,
  65535,
]);

/**
 * TCP ports whose service completes the handshake and resets at once
 * (reset_server.ts): open, as nmap -sT and -sS say, though no data flows.
 */
export const RESET_PORTS: readonly number[] = Object.freeze([7070]);

/** TCP ports rejected with ICMP administratively prohibited. */
export const PROHIBITED_PORTS: readonly number[] = Object.freeze([4444]);

/** TCP ports whose SYNs the target silently drops: 100 ports spread over 1-65535. */
export const DROPPED_PORTS: readonly number[] = Object.freeze(makeDroppedPorts());

function makeDroppedPorts(): number[] {
  // Some ports firewalls commonly drop, then a fixed scatter over the range.
  const ports = new Set([23, 111, 135, 139, 445, 1433, 3389, 5900, 9200, 27017]);
  const taken = (port: number): boolean =>
    ports.has(port) || OPEN_PORTS.includes(port) || PROHIBITED_PORTS.includes(port);
  for (let i = 0; ports.size < 100; i++) {
    let port = 600 + i * 720 + (i * 97) % 500;
    while (taken(port)) port++;
    ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}

/** What {@link labSupported} found. */
export type LabSupport = { ok: true } | { ok: false; why: string };

/** Output of a finished command. */
export interface RunResult {
  /** Exit code; 128 + signal number when killed by a signal. */
  code: number;
  /** The signal that killed it, if one did. */
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
  /** True when it was killed for running past `timeout`. */
  timedOut: boolean;
}

/** Options of {@link Lab.run}. */
export interface RunOptions {
  /** Text or bytes fed to standard input, which is closed afterwards. */
  stdin?: string | Uint8Array;
  /** Extra environment variables. */
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the command with SIGKILL after this many ms. */
  timeout?: number;
  /** "null": the output goes nowhere and `stdout` is empty (a bench's scan writes tens of MB). */
  stdout?: "piped" | "null";
}

/** Options of {@link Lab.spawn}. */
export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  stdin?: "piped" | "inherit" | "null";
  stdout?: "piped" | "inherit" | "null";
  stderr?: "piped" | "inherit" | "null";
}

/** A running lab. */
export interface Lab {
  /** Name of the scanner namespace, `<prefix>-scan`. */
  scanNs: string;
  /** Name of the target namespace, `<prefix>-tgt`. */
  targetNs: string;
  scanner4: string;
  scanner6: string;
  target4: string;
  target6: string;
  /** Open TCP ports, ascending. */
  open: number[];
  /** Silently dropped TCP ports, ascending. */
  dropped: number[];
  /** TCP ports answered with ICMP administratively prohibited, ascending. */
  prohibited: number[];
  /** Runs `cmd` inside the scanner namespace and collects its output. */
  run(cmd: string[], options?: RunOptions): Promise<RunResult>;
  /** Starts a long-running `cmd` inside the scanner namespace; {@link Lab.stop} kills it. */
  spawn(cmd: string[], options?: SpawnOptions): Deno.ChildProcess;
  /** True while the target's listener process runs; a crashed listener spoils every result. */
  listenerRunning(): boolean;
  /** Kills every process of the lab and deletes its namespaces. Idempotent. */
  stop(): Promise<void>;
  /** The daemons and greeters, when started with `services: true` (see services.ts). */
  services?: LabServices;
}

/** Options of {@link startLab}. */
export interface StartLabOptions {
  /** Prefix of the namespace and interface names; default "ptl". */
  name?: string;
  /** How long to wait for the listeners, ms; default 30000. */
  readyTimeout?: number;
  /**
   * Also run real daemons and greeters on the target for service detection
   * (services.ts): their ports are served by them instead of the plain
   * listener, and added to `open`. Default false.
   */
  services?: boolean;
}

const decoder = new TextDecoder();

async function exec(cmd: string[], options: RunOptions = {}): Promise<RunResult> {
  const [program, ...args] = cmd;
  if (program === undefined) throw new RangeError('Cannot run command "[]": it is empty');
  const child = new Deno.Command(program, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  }).spawn();
  return await collect(child, options);
}

async function collect(child: Deno.ChildProcess, options: RunOptions): Promise<RunResult> {
  let timedOut = false;
  const timer = options.timeout === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, options.timeout);
  try {
    if (options.stdin !== undefined) {
      const bytes = typeof options.stdin === "string"
        ? new TextEncoder().encode(options.stdin)
        : options.stdin;
      const writer = child.stdin.getWriter();
      try {
        await writer.write(bytes);
        await writer.close();
      } catch {
        // The command may exit without reading its input.
      }
    }
    const output = await child.output();
    return {
      code: output.code,
      signal: output.signal,
      stdout: options.stdout === "null" ? "" : decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}

async function mustExec(cmd: string[], options: RunOptions = {}): Promise<string> {
  const result = await exec(cmd, { timeout: 30_000, ...options });
  if (result.code !== 0) {
    throw new Error(
      `Cannot set up lab: "${cmd.join(" ")}" exited ${result.code}: ${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

function namesOf(
  prefix: string,
): { scanNs: string; targetNs: string; scanIf: string; targetIf: string } {
  // Interface names must fit IFNAMSIZ (15 chars).
  if (!/^[a-z][a-z0-9]{0,9}$/.test(prefix)) {
    throw new RangeError(
      `Cannot use lab name "${prefix}": must be 1-10 lowercase letters or digits, starting with a letter`,
    );
  }
  return {
    scanNs: `${prefix}-scan`,
    targetNs: `${prefix}-tgt`,
    scanIf: `${prefix}-s0`,
    targetIf: `${prefix}-t0`,
  };
}

async function namespaceExists(ns: string): Promise<boolean> {
  const out = await mustExec(["ip", "netns", "list"]);
  return out.split("\n").some((line) => line.split(" ")[0] === ns);
}

async function killNamespace(ns: string): Promise<void> {
  if (!(await namespaceExists(ns))) return;
  // Every process left in the namespace would keep it alive and may be ours.
  for (let attempt = 0; attempt < 20; attempt++) {
    const pids = (await exec(["ip", "netns", "pids", ns])).stdout.split("\n")
      .map((line) => Number(line.trim())).filter((pid) => Number.isInteger(pid) && pid > 1);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Exited meanwhile.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await mustExec(["ip", "netns", "delete", ns]);
}

/**
 * Removes the namespaces and processes of a lab, e.g. one left by a crashed
 * run. Nothing happens when there is none.
 *
 * @param name The lab's prefix; default "ptl".
 */
export async function removeLab(name = "ptl"): Promise<void> {
  const { scanNs, targetNs } = namesOf(name);
  await killNamespace(scanNs);
  await killNamespace(targetNs);
}

/**
 * Tells whether this process can build a lab: Linux, root, and iproute2
 * able to create a network namespace, and iptables present.
 *
 * @returns `{ ok: true }`, or `{ ok: false, why }` with a one-line reason.
 */
export async function labSupported(): Promise<LabSupport> {
  if (Deno.build.os !== "linux") return { ok: false, why: `needs Linux, not ${Deno.build.os}` };
  let uid: number | null;
  try {
    uid = Deno.uid();
  } catch (error) {
    return {
      ok: false,
      why: `cannot read uid (${(error as Error).message}); run with --allow-sys`,
    };
  }
  if (uid !== 0) return { ok: false, why: `needs root, running as uid ${uid}` };
  for (
    const tool of [["ip", "-V"], ["iptables-restore", "--version"], [
      "ip6tables-restore",
      "--version",
    ]]
  ) {
    try {
      const result = await exec(tool, { timeout: 10_000 });
      if (result.code !== 0) return { ok: false, why: `"${tool.join(" ")}" exited ${result.code}` };
    } catch (error) {
      return { ok: false, why: `cannot run ${tool[0]}: ${(error as Error).message}` };
    }
  }
  const probe = `ptlprobe${Deno.pid}`;
  const added = await exec(["ip", "netns", "add", probe], { timeout: 10_000 });
  if (added.code !== 0) {
    return { ok: false, why: `"ip netns add" failed: ${added.stderr.trim()}` };
  }
  await exec(["ip", "netns", "delete", probe], { timeout: 10_000 });
  return { ok: true };
}

/**
 * What a correct scan of the lab's target reports for each port.
 *
 * @param lab The lab (or its port lists).
 * @param ports The ports scanned.
 * @returns Port to expected state.
 */
export function expectedStates(
  lab: Pick<Lab, "open" | "dropped" | "prohibited">,
  ports: number[],
): Map<number, "open" | "closed" | "filtered"> {
  const open = new Set(lab.open);
  const filtered = new Set([...lab.dropped, ...lab.prohibited]);
  const states = new Map<number, "open" | "closed" | "filtered">();
  for (const port of ports) {
    states.set(port, open.has(port) ? "open" : filtered.has(port) ? "filtered" : "closed");
  }
  return states;
}

function firewallRules(family: 4 | 6): string {
  const lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"];
  for (let i = 0; i < DROPPED_PORTS.length; i += 15) {
    const chunk = DROPPED_PORTS.slice(i, i + 15).join(",");
    lines.push(`-A INPUT -p tcp -m multiport --dports ${chunk} -j DROP`);
  }
  const reject = family === 4 ? "icmp-admin-prohibited" : "icmp6-adm-prohibited";
  for (const port of PROHIBITED_PORTS) {
    lines.push(`-A INPUT -p tcp --dport ${port} -j REJECT --reject-with ${reject}`);
  }
  lines.push("COMMIT", "");
  return lines.join("\n");
}

// No DAD so addresses work at once; no RA/RS so nothing adds a route.
const SYSCTLS = [
  "net/ipv6/conf/all/accept_dad=0",
  "net/ipv6/conf/default/accept_dad=0",
  "net/ipv6/conf/all/accept_ra=0",
  "net/ipv6/conf/default/accept_ra=0",
  "net/ipv6/conf/all/router_solicitations=0",
  "net/ipv6/conf/default/router_solicitations=0",
];

async function configureNamespace(ns: string): Promise<void> {
  const script = SYSCTLS.map((entry) => {
    const [key, value] = entry.split("=");
    return `echo ${value} > /proc/sys/${key}`;
  }).join(" && ");
  await mustExec(["ip", "netns", "exec", ns, "sh", "-c", script]);
  await mustExec(["ip", "-n", ns, "link", "set", "lo", "up"]);
}

function listenerPath(): string {
  const url = new URL("./listener.ts", import.meta.url);
  if (url.protocol !== "file:") {
    throw new Error(`Cannot start lab: listener ${url} is not a local file`);
  }
  return decodeURIComponent(url.pathname);
}

async function waitForReady(
  child: Deno.ChildProcess,
  timeout: number,
  stderrText: () => string,
): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const reader = child.stdout.getReader();
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeout);
  });
  try {
    while (!text.includes("ready\n")) {
      const next = await Promise.race([reader.read(), expired]);
      if (next === "timeout") {
        throw new Error(
          `Cannot start lab: listeners not ready after ${timeout} ms: ${stderrText()}`,
        );
      }
      if (next.done) {
        throw new Error(`Cannot start lab: listener exited before ready: ${stderrText().trim()}`);
      }
      text += decoder.decode(next.value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
  }
  return reader;
}

async function drain(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  sink?: (text: string) => void,
): Promise<void> {
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      sink?.(decoder.decode(value, { stream: true }));
    }
  } catch {
    // Stream torn down with the process.
  }
}

/**
 * Builds a lab: namespaces `<name>-scan` and `<name>-tgt`, the veth pair,
 * addresses, firewall rules and the listeners. Leftovers of an earlier lab
 * of the same name are removed first. On failure everything is torn down.
 *
 * @param options Name prefix and ready timeout.
 * @returns The running lab; call {@link Lab.stop} when done.
 */
export async function startLab(options: StartLabOptions = {}): Promise<Lab> {
  const name = options.name ?? "ptl";
  const { scanNs, targetNs, scanIf, targetIf } = namesOf(name);
  const children = new Set<Deno.ChildProcess>();
  const pending = new Set<Promise<unknown>>();
  let stopping: Promise<void> | undefined;
  let listenerUp = false;
  const withServices = options.services === true;
  const listenerPorts = withServices
    ? OPEN_PORTS.filter((port) => !SERVICE_PORTS.includes(port))
    : OPEN_PORTS;

  function track(child: Deno.ChildProcess): Deno.ChildProcess {
    children.add(child);
    const done = child.status.then(() => {}, () => {}).finally(() => children.delete(child));
    pending.add(done);
    done.finally(() => pending.delete(done));
    return child;
  }

  function inScanner(cmd: string[]): string[] {
    if (cmd.length === 0) throw new RangeError('Cannot run command "[]" in the lab: it is empty');
    return ["netns", "exec", scanNs, ...cmd];
  }

  async function stopNow(): Promise<void> {
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
    }
    await removeLab(name);
    await Promise.all([...pending]);
    if (lab.services !== undefined) {
      await Deno.remove(lab.services.dir, { recursive: true }).catch(() => {});
    }
  }

  const lab: Lab = {
    scanNs,
    targetNs,
    scanner4: SCANNER4,
    scanner6: SCANNER6,
    target4: TARGET4,
    target6: TARGET6,
    open: [...new Set([...OPEN_PORTS, ...RESET_PORTS, ...(withServices ? SERVICE_PORTS : [])])]
      .sort((a, b) => a - b),
    dropped: [...DROPPED_PORTS],
    prohibited: [...PROHIBITED_PORTS],
    async run(cmd: string[], runOptions: RunOptions = {}): Promise<RunResult> {
      if (stopping) throw new Error(`Cannot run "${cmd.join(" ")}": lab ${name} is stopped`);
      const child = track(
        new Deno.Command("ip", {
          args: inScanner(cmd),
          stdin: runOptions.stdin === undefined ? "null" : "piped",
          stdout: runOptions.stdout ?? "piped",
          stderr: "piped",
          ...(runOptions.env ? { env: runOptions.env } : {}),
          ...(runOptions.cwd ? { cwd: runOptions.cwd } : {}),
        }).spawn(),
      );
      return await collect(child, runOptions);
    },
    spawn(cmd: string[], spawnOptions: SpawnOptions = {}): Deno.ChildProcess {
      if (stopping) throw new Error(`Cannot spawn "${cmd.join(" ")}": lab ${name} is stopped`);
      return track(
        new Deno.Command("ip", {
          args: inScanner(cmd),
          stdin: spawnOptions.stdin ?? "null",
          stdout: spawnOptions.stdout ?? "piped",
          stderr: spawnOptions.stderr ?? "piped",
          ...(spawnOptions.env ? { env: spawnOptions.env } : {}),
          ...(spawnOptions.cwd ? { cwd: spawnOptions.cwd } : {}),
        }).spawn(),
      );
    },
    listenerRunning(): boolean {
      return listenerUp;
    },
    stop(): Promise<void> {
      stopping ??= stopNow();
      return stopping;
    },
  };

  await removeLab(name);
  try {
    await mustExec(["ip", "netns", "add", scanNs]);
    await mustExec(["ip", "netns", "add", targetNs]);
    await configureNamespace(scanNs);
    await configureNamespace(targetNs);
    await mustExec([
      "ip",
      "-n",
      scanNs,
      "link",
      "add",
      scanIf,
      "type",
      "veth",
      "peer",
      "name",
      targetIf,
      "netns",
      targetNs,
    ]);
    for (
      const [ns, dev, v4, v6] of [
        [scanNs, scanIf, SCANNER4, SCANNER6],
        [targetNs, targetIf, TARGET4, TARGET6],
      ] as const
    ) {
      await mustExec(["ip", "-n", ns, "addr", "add", `${v4}/24`, "dev", dev]);
      await mustExec(["ip", "-n", ns, "-6", "addr", "add", `${v6}/64`, "dev", dev, "nodad"]);
      await mustExec(["ip", "-n", ns, "link", "set", dev, "up"]);
    }
    for (const ns of [scanNs, targetNs]) {
      for (const family of ["-4", "-6"]) {
        const routes = await mustExec(["ip", "-n", ns, family, "route", "show", "default"]);
        if (routes.trim() !== "") {
          throw new Error(
            `Cannot set up lab: namespace ${ns} has a default route: ${routes.trim()}`,
          );
        }
      }
    }
    await mustExec(["ip", "netns", "exec", targetNs, "iptables-restore"], {
      stdin: firewallRules(4),
    });
    await mustExec(["ip", "netns", "exec", targetNs, "ip6tables-restore"], {
      stdin: firewallRules(6),
    });

    /** A Deno script of the lab's, run in the target namespace with `permission`. */
    const denoInTarget = (permission: string, script: string, args: string[]): Deno.ChildProcess =>
      track(
        new Deno.Command("ip", {
          args: ["netns", "exec", targetNs, Deno.execPath(), "run", "--no-lock", permission]
            .concat(script, args),
          env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn(),
      );
    let stderrText = "";
    const listener = denoInTarget("--allow-net", listenerPath(), [
      "--ports",
      listenerPorts.join(","),
    ]);
    listenerUp = true;
    listener.status.finally(() => {
      listenerUp = false;
    }).catch(() => {});
    const stderrDone = drain(listener.stderr.getReader(), (text) => {
      stderrText = (stderrText + text).slice(-4000);
    });
    pending.add(stderrDone);
    const reader = await waitForReady(listener, options.readyTimeout ?? 30_000, () => stderrText);
    pending.add(drain(reader));
    for (const port of RESET_PORTS) {
      const resetter = denoInTarget(
        "--allow-ffi",
        decodeURIComponent(new URL("./reset_server.ts", import.meta.url).pathname),
        ["--port", String(port)],
      );
      pending.add(drain(await waitForReady(resetter, options.readyTimeout ?? 30_000, () => "")));
      pending.add(drain(resetter.stderr.getReader()));
    }
    if (withServices) {
      lab.services = await startServices({
        targetNs,
        address: TARGET4,
        spawn: (cmd, spawnOptions): Deno.ChildProcess =>
          track(
            new Deno.Command("ip", {
              args: ["netns", "exec", targetNs, ...cmd],
              env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
              stdin: "null",
              stdout: spawnOptions.stdout,
              stderr: "null",
            }).spawn(),
          ),
      }, { readyTimeout: options.readyTimeout ?? 30_000 });
    }
  } catch (error) {
    await lab.stop();
    throw error;
  }
  return lab;
}

function envGet(key: string): string | undefined {
  try {
    return Deno.env.get(key);
  } catch {
    return undefined;
  }
}

const support = await labSupported();
// On CI the lab is mandatory: a runner without root must fail, not skip.
export const labRequired: boolean = envGet("CI") === "true";

/**
 * Register a test that needs the lab. Where the lab cannot be built it is
 * reported as ignored, with the reason in its name; under CI=true it runs
 * and fails instead.
 */
export function labTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  if (!support.ok && !labRequired) {
    Deno.test({ name: `lab: ${name} (skipped: ${support.why})`, ignore: true, fn });
    return;
  }
  Deno.test({
    name: `lab: ${name}`,
    async fn(t): Promise<void> {
      if (!support.ok) throw new Error(`Cannot run lab tests on CI: ${support.why}`);
      await fn(t);
    },
  });
}
