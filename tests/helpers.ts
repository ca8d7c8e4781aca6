/**
 * Running the real command in tests.
 *
 * @module
 */

import { SCAN_PERMISSIONS } from "./permissions.ts";

export { SCAN_PERMISSIONS };

/** Root of the checkout. */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/**
 * Where the commands under test keep their history and resume state: a
 * directory of this test process, never the user's own.
 */
export const TEST_STATE_DIR: string = Deno.makeTempDirSync({ prefix: "portolan-test-state-" });

/** What a finished command left. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link portolan}. */
export interface PortolanOptions {
  /** Deno permissions instead of the scan task's. */
  permissions?: readonly string[];
  /** Wrap the command, e.g. ["ip", "netns", "exec", "ns"]. */
  prefix?: readonly string[];
  stdin?: string;
  env?: Record<string, string>;
  /** Kill the run after this many ms (default 120 s). */
  timeoutMs?: number;
}

/** Run `deno run main.ts ...args` and collect its output. */
export async function portolan(
  args: readonly string[],
  options: PortolanOptions = {},
): Promise<CommandResult> {
  const deno = [
    Deno.execPath(),
    "run",
    "--quiet",
    ...(options.permissions ?? SCAN_PERMISSIONS),
    `${ROOT}main.ts`,
    ...args,
  ];
  const argv = [...(options.prefix ?? []), ...deno];
  const command = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    cwd: ROOT,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: {
      NO_COLOR: "1",
      // The user stands in the checkout, whatever folder `deno task test` was run from.
      INIT_CWD: ROOT,
      XDG_DATA_HOME: `${TEST_STATE_DIR}/data`,
      XDG_STATE_HOME: `${TEST_STATE_DIR}/state`,
      ...(options.env ?? {}),
    },
  });
  const child = command.spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, options.timeoutMs ?? 120_000);
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A port on 127.0.0.1 that nothing listens on right now. */
export function freePort(hostname = "127.0.0.1"): number {
  const listener = Deno.listen({ hostname, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Ports listening on TCP on this machine (any address), read from /proc. */
export async function listeningPorts(): Promise<Set<number>> {
  const ports = new Set<number>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = await Deno.readTextFile(file);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // st 0A is LISTEN.
      if (fields[3] !== "0A") continue;
      const port = parseInt(fields[1]?.split(":")[1] ?? "", 16);
      if (Number.isInteger(port)) ports.add(port);
    }
  }
  return ports;
}
