/**
 * portolan: a network port scanner. The one place that reads `Deno.args`
 * and calls `Deno.exit`.
 *
 * @module
 */

import { processIo, runCli } from "./src/cli/run.ts";

if (import.meta.main) {
  const controller = new AbortController();
  const interrupt = (): void => {
    // A second interrupt means "now".
    if (controller.signal.aborted) Deno.exit(130);
    controller.abort();
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, interrupt);
    } catch { /* not on this platform */ }
  }
  const code = await runCli(Deno.args, processIo(controller.signal));
  Deno.exit(code);
}
