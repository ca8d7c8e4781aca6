/**
 * Additions to a running lab ({@link startLab}) for the raw engine's tests
 * and bench, each off unless asked for, so the lab itself is unchanged:
 *
 * - {@link addFarHost}: a second target, 203.0.113.2 / 2001:db8:2::2, behind
 *   the lab's target (which routes) and a delay line (the kernel has no
 *   netem), with optional random loss each way (iptables `statistic`);
 * - {@link enableSweep}: every address of 198.18.0.0/16 answers on the
 *   target (`ip route add local`), the upper half dropped;
 * - {@link startUdpServices}: dnsmasq on 53, snmpd on 161, memcached on
 *   11211 (UDP), and UDP 123 dropped;
 * - {@link setRandomLoss}: random loss on the target itself.
 *
 * @module
 */

import type { Lab } from "./lab.ts";

const decoder = new TextDecoder();

async function exec(
  cmd: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    const output = await child.output();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

async function mustExec(cmd: string[], stdin?: string): Promise<string> {
  const result = await exec(cmd, stdin);
  if (result.code !== 0) {
    throw new Error(
      `Cannot set up lab: "${cmd.join(" ")}" exited ${result.code}: ${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

/** Whether `name` is on the PATH. */
export async function hasCommand(name: string): Promise<boolean> {
  try {
    return (await exec(["sh", "-c", `command -v ${name}`])).code === 0;
  } catch {
    return false;
  }
}

function prefixOf(lab: Lab): string {
  return lab.scanNs.replace(/-scan$/, "");
}

const stderrOf = new WeakMap<Deno.ChildProcess, () => string>();

/** Processes started in a namespace, killed on stop. */
class Processes {
  #children: Deno.ChildProcess[] = [];

  spawn(ns: string, cmd: string[]): Deno.ChildProcess {
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", ns, ...cmd],
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#children.push(child);
    let text = "";
    stderrOf.set(child, () => text);
    child.stderr.pipeTo(
      new WritableStream({
        write(chunk): void {
          text = (text + decoder.decode(chunk)).slice(-2000);
        },
      }),
    ).catch(() => {});
    return child;
  }

  async stop(): Promise<void> {
    for (const child of this.#children) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await child.output().catch(() => {});
    }
    this.#children = [];
  }
}

async function waitForLine(child: Deno.ChildProcess, line: string, timeout: number): Promise<void> {
  const reader = child.stdout.getReader();
  let text = "";
  const deadline = Date.now() + timeout;
  try {
    while (!text.includes(line)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Cannot start lab process: no "${line}" after ${timeout} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const next = await Promise.race([
        reader.read(),
        new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), left)),
      ]);
      clearTimeout(timer);
      if (next === "timeout") continue;
      if (next.done) {
        const stderr = stderrOf.get(child)?.() ?? "";
        throw new Error(`Cannot start lab process: it exited before "${line}": ${stderr.trim()}`);
      }
      text += decoder.decode(next.value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  // Keep the pipe drained.
  child.stdout.pipeTo(new WritableStream()).catch(() => {});
}

async function deleteNamespace(ns: string): Promise<void> {
  const list = await exec(["ip", "netns", "list"]);
  if (!list.stdout.split("\n").some((line) => line.split(" ")[0] === ns)) return;
  for (let attempt = 0; attempt < 20; attempt++) {
    const pids = (await exec(["ip", "netns", "pids", ns])).stdout.split("\n").map(Number)
      .filter((pid) => Number.isInteger(pid) && pid > 1);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Gone.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await exec(["ip", "netns", "delete", ns]);
}

/** Drop each packet in and out of namespace `ns` with this probability (IPv4 and IPv6). */
export async function setRandomLoss(ns: string, probability: number): Promise<void> {
  if (!(probability > 0 && probability < 1)) {
    throw new RangeError(`Cannot set loss ${probability}: must be between 0 and 1`);
  }
  for (const tool of ["iptables", "ip6tables"]) {
    for (const chain of ["INPUT", "OUTPUT"]) {
      await mustExec([
        "ip",
        "netns",
        "exec",
        ns,
        tool,
        "-I",
        chain,
        "1",
        "-m",
        "statistic",
        "--mode",
        "random",
        "--probability",
        String(probability),
        "-j",
        "DROP",
      ]);
    }
  }
}

/** The far host of {@link addFarHost}. */
export interface FarHost {
  address4: string;
  address6: string;
  open: number[];
  dropped: number[];
  stop(): Promise<void>;
}

/** Options of {@link addFarHost}. */
export interface FarHostOptions {
  /** One-way delay of the delay line, ms. */
  delayMs: number;
  /** Random loss each way at the far host (0 = none). */
  loss?: number;
  /** Open TCP ports; default 22, 80, 443, 8080. */
  open?: number[];
  /** Dropped TCP ports; default 3389. */
  dropped?: number[];
  /**
   * Put the far host on a second link of the scanner (scanner → delay line →
   * far host, 203.0.113.1/24 and 2001:db8:2::1/64 on the scanner's side)
   * instead of behind the target's router: one scan then has targets on two
   * links, each with its own source address and neighbours.
   */
  secondLink?: boolean;
}

function listenerPath(): string {
  return decodeURIComponent(new URL("./listener.ts", import.meta.url).pathname);
}

/**
 * A host 203.0.113.2 / 2001:db8:2::2 behind the lab's target and a delay
 * line: scanner → target (routing) → delay line → far host.
 */
export async function addFarHost(lab: Lab, options: FarHostOptions): Promise<FarHost> {
  const prefix = prefixOf(lab);
  const far = `${prefix}-far`;
  const dly = `${prefix}-dly`;
  const open = options.open ?? [22, 80, 443, 8080];
  const dropped = options.dropped ?? [3389];
  const processes = new Processes();
  const stop = async (): Promise<void> => {
    await processes.stop();
    await deleteNamespace(far);
    await deleteNamespace(dly);
  };
  await stop();
  try {
    await mustExec(["ip", "netns", "add", far]);
    await mustExec(["ip", "netns", "add", dly]);
    for (const ns of [far, dly]) {
      await mustExec(["ip", "-n", ns, "link", "set", "lo", "up"]);
      await mustExec([
        "ip",
        "netns",
        "exec",
        ns,
        "sh",
        "-c",
        "echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/default/accept_ra; echo 0 > /proc/sys/net/ipv6/conf/default/router_solicitations",
      ]);
    }
    await mustExec([
      "ip",
      "netns",
      "exec",
      dly,
      "sh",
      "-c",
      "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6",
    ]);
    const [ft, da, db, ff] = [`${prefix}-ft`, `${prefix}-da`, `${prefix}-db`, `${prefix}-ff`];
    // The near end of the path: the target's router, or the scanner itself on a second link.
    const near = options.secondLink === true ? lab.scanNs : lab.targetNs;
    await mustExec([
      "ip",
      "-n",
      near,
      "link",
      "add",
      ft,
      "type",
      "veth",
      "peer",
      "name",
      da,
      "netns",
      dly,
    ]);
    await mustExec([
      "ip",
      "-n",
      dly,
      "link",
      "add",
      db,
      "type",
      "veth",
      "peer",
      "name",
      ff,
      "netns",
      far,
    ]);
    await mustExec(["ip", "-n", near, "addr", "add", "203.0.113.1/24", "dev", ft]);
    await mustExec([
      "ip",
      "-n",
      near,
      "-6",
      "addr",
      "add",
      "2001:db8:2::1/64",
      "dev",
      ft,
      "nodad",
    ]);
    await mustExec(["ip", "-n", far, "addr", "add", "203.0.113.2/24", "dev", ff]);
    await mustExec(["ip", "-n", far, "-6", "addr", "add", "2001:db8:2::2/64", "dev", ff, "nodad"]);
    for (const [ns, dev] of [[near, ft], [dly, da], [dly, db], [far, ff]] as const) {
      await mustExec(["ip", "-n", ns, "link", "set", dev, "up"]);
    }
    if (options.secondLink === true) {
      // Frames cross the delay line as they are: the kernels' TCP and UDP
      // checksums must be in them (no offload), else the far ends drop them.
      await mustExec(["ip", "netns", "exec", near, "ethtool", "-K", ft, "tx", "off"]);
      await mustExec(["ip", "netns", "exec", far, "ethtool", "-K", ff, "tx", "off"]);
    }
    // On a second link the far host is on-link: no router, no routes. (Deleting
    // the delay line's namespace takes the scanner's end of the veth with it.)
    if (options.secondLink !== true) await routeThroughTarget(lab, far);
    for (const tool of ["iptables", "ip6tables"]) {
      await mustExec([
        "ip",
        "netns",
        "exec",
        far,
        tool,
        "-A",
        "INPUT",
        "-p",
        "tcp",
        "-m",
        "multiport",
        "--dports",
        dropped.join(","),
        "-j",
        "DROP",
      ]);
    }
    if (options.loss !== undefined && options.loss > 0) await setRandomLoss(far, options.loss);
    const line = processes.spawn(dly, [
      Deno.execPath(),
      "run",
      "--no-lock",
      "--allow-all",
      decodeURIComponent(new URL("./delay_line.ts", import.meta.url).pathname),
      "--a",
      da,
      "--b",
      db,
      "--delay",
      String(options.delayMs),
    ]);
    await waitForLine(line, "ready", 30_000);
    const listener = processes.spawn(far, [
      Deno.execPath(),
      "run",
      "--no-lock",
      "--allow-net",
      listenerPath(),
      "--ports",
      open.join(","),
    ]);
    await waitForLine(listener, "ready", 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    address4: "203.0.113.2",
    address6: "2001:db8:2::2",
    open: [...open].sort((a, b) => a - b),
    dropped: [...dropped].sort((a, b) => a - b),
    stop,
  };
}

/** The far host reached through the lab's target, which routes between the two links. */
async function routeThroughTarget(lab: Lab, far: string): Promise<void> {
  await mustExec([
    "ip",
    "netns",
    "exec",
    lab.targetNs,
    "sh",
    "-c",
    "echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv6/conf/all/forwarding",
  ]);
  await mustExec(["ip", "-n", lab.scanNs, "route", "add", "203.0.113.0/24", "via", lab.target4]);
  await mustExec([
    "ip",
    "-n",
    lab.scanNs,
    "-6",
    "route",
    "add",
    "2001:db8:2::/64",
    "via",
    lab.target6,
  ]);
  await mustExec(["ip", "-n", far, "route", "add", "198.51.100.0/24", "via", "203.0.113.1"]);
  await mustExec([
    "ip",
    "-n",
    far,
    "-6",
    "route",
    "add",
    "2001:db8:1::/64",
    "via",
    "2001:db8:2::1",
  ]);
}

/** The /16 of {@link enableSweep}. */
export const SWEEP_RANGE = "198.18.0.0/16";
/** Its dark half. */
export const SWEEP_DARK = "198.18.128.0/17";

/**
 * Every address of 198.18.0.0/16 becomes local to the target (so port 80,
 * where the lab listens, answers on all of them) and the upper half is
 * dropped; the scanner routes the /16 through the target.
 */
export async function enableSweep(lab: Lab): Promise<void> {
  await mustExec(["ip", "-n", lab.targetNs, "route", "add", "local", SWEEP_RANGE, "dev", "lo"]);
  await mustExec([
    "ip",
    "netns",
    "exec",
    lab.targetNs,
    "iptables",
    "-I",
    "INPUT",
    "1",
    "-d",
    SWEEP_DARK,
    "-j",
    "DROP",
  ]);
  await mustExec(["ip", "-n", lab.scanNs, "route", "add", SWEEP_RANGE, "via", lab.target4]);
}

/** UDP ports of the bench and tests: 16 common ones. */
export const UDP_TEST_PORTS: readonly number[] = Object.freeze([
  53,
  67,
  69,
  111,
  123,
  137,
  138,
  161,
  162,
  500,
  514,
  520,
  1900,
  4500,
  5353,
  11211,
]);

/** The UDP services of {@link startUdpServices}. */
export interface UdpServices {
  /** Ports answered by a service. */
  open: number[];
  /** Ports silently dropped. */
  dropped: number[];
  stop(): Promise<void>;
}

/** Which of dnsmasq, snmpd and memcached are missing. */
export async function missingUdpServices(): Promise<string[]> {
  const missing: string[] = [];
  for (const name of ["dnsmasq", "snmpd", "memcached"]) {
    if (!(await hasCommand(name))) missing.push(name);
  }
  return missing;
}

/**
 * dnsmasq (53), snmpd with community "public" (161) and memcached (11211)
 * on the target's IPv4 address, and UDP 123 dropped.
 *
 * @throws {Error} when a daemon is missing or does not come up.
 */
export async function startUdpServices(lab: Lab): Promise<UdpServices> {
  const missing = await missingUdpServices();
  if (missing.length > 0) {
    throw new Error(`Cannot start UDP services: missing ${missing.join(", ")}`);
  }
  const dir = await Deno.makeTempDir({ prefix: "ptl-udp-" });
  const processes = new Processes();
  const ns = lab.targetNs;
  const address = lab.target4;
  const stop = async (): Promise<void> => {
    await processes.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await Deno.writeTextFile(
      `${dir}/snmpd.conf`,
      "rocommunity public default\nsysDescr portolan lab\n",
    );
    processes.spawn(ns, [
      "dnsmasq",
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      `--listen-address=${address}`,
      "--bind-interfaces",
      "--user=root",
      "--group=root",
      `--pid-file=${dir}/dnsmasq.pid`,
      "--port=53",
    ]);
    processes.spawn(ns, [
      "snmpd",
      "-f",
      "-Lo",
      "-C",
      "-c",
      `${dir}/snmpd.conf`,
      "-p",
      `${dir}/snmpd.pid`,
      `udp:${address}:161`,
    ]);
    processes.spawn(ns, ["memcached", "-u", "root", "-U", "11211", "-p", "11211", "-l", address]);
    await mustExec([
      "ip",
      "netns",
      "exec",
      ns,
      "iptables",
      "-I",
      "INPUT",
      "1",
      "-p",
      "udp",
      "--dport",
      "123",
      "-j",
      "DROP",
    ]);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const listening = await exec(["ip", "netns", "exec", ns, "ss", "-Hlun"]);
      const ports = new Set(
        [...listening.stdout.matchAll(/:(\d+)\s/g)].map((match) => Number(match[1])),
      );
      if ([53, 161, 11211].every((port) => ports.has(port))) break;
      if (Date.now() > deadline) {
        throw new Error(`Cannot start UDP services: listening on ${[...ports].join(",")} only`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { open: [53, 161, 11211], dropped: [123], stop };
}
