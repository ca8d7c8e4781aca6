/**
 * portolan: a network port scanner. The one place that reads `Deno.args`
 * and calls `Deno.exit`.
 *
 * @module
 */

if (import.meta.main) {
  // The listeners go in before the scanner's modules load (a dynamic import
  // below): an interrupt in the first moments is an interrupt, not a kill.
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
  const [{ processIo, runCli }, { builtinPlugins }] = await Promise.all([
    import("./src/cli/run.ts"),
    import("./plugins/mod.ts"),
  ]);
  const code = await runCli(Deno.args, processIo(controller.signal), {
    builtins: builtinPlugins,
  });
  Deno.exit(code);
}
