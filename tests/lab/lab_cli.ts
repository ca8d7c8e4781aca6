/**
 * Brings the lab up or down by hand.
 *
 * ```sh
 * deno run -A tests/lab/lab_cli.ts up [--name ptl] [--services]  # prints JSON, runs until SIGINT/SIGTERM
 * deno run -A tests/lab/lab_cli.ts down [--name ptl]  # removes a lab left behind
 * ```
 *
 * While it is up: `ip netns exec ptl-scan nmap -sT -Pn -p- 198.51.100.2`.
 *
 * @module
 */

import { labSupported, removeLab, startLab } from "./lab.ts";

const USAGE = "usage: lab_cli.ts up|down [--name PREFIX] [--services]";

async function up(name: string, services: boolean): Promise<void> {
  // --services: real daemons and greeters for -sV (services.ts).
  const lab = await startLab({ name, services });
  console.log(JSON.stringify(
    {
      scanNs: lab.scanNs,
      targetNs: lab.targetNs,
      scanner4: lab.scanner4,
      scanner6: lab.scanner6,
      target4: lab.target4,
      target6: lab.target6,
      open: lab.open,
      dropped: lab.dropped,
      prohibited: lab.prohibited,
    },
    null,
    2,
  ));
  console.error(`lab ${name} up; Ctrl-C or SIGTERM tears it down`);
  const { promise, resolve } = Promise.withResolvers<Deno.Signal>();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const handlers = signals.map((signal) => {
    const handler = (): void => resolve(signal);
    Deno.addSignalListener(signal, handler);
    return { signal, handler };
  });
  // A tick keeps the loop alive and notices a crashed listener.
  const tick = setInterval(() => {
    if (!lab.listenerRunning()) {
      console.error("listener exited; tearing down");
      resolve("SIGTERM");
    }
  }, 1000);
  const signal = await promise;
  clearInterval(tick);
  for (const { signal, handler } of handlers) Deno.removeSignalListener(signal, handler);
  await lab.stop();
  console.error(`lab ${name} down (${signal})`);
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  let name = "ptl";
  let services = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--services") {
      services = true;
    } else if (rest[i] === "--name" && rest[i + 1] !== undefined) {
      name = rest[++i] as string;
    } else {
      console.error(USAGE);
      return 2;
    }
  }
  if (command !== "up" && command !== "down") {
    console.error(USAGE);
    return 2;
  }
  const support = await labSupported();
  if (!support.ok) {
    console.error(`lab unsupported: ${support.why}`);
    return 1;
  }
  if (command === "up") await up(name, services);
  else await removeLab(name);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(1);
  }
}
