/**
 * `deno task compile`: builds the single binary with `deno compile`, and
 * where that cannot work says so in one line. `deno compile` needs the Deno
 * runtime for the target (denort): downloaded, or the file `DENORT_BIN`
 * names. Without either, Deno prints a backtrace and leaves an empty
 * `dist/`; this prints one line naming DENORT_BIN and leaves nothing.
 *
 * Usage:
 *
 * ```sh
 * deno run --allow-run=deno --allow-read --allow-write --allow-env scripts/compile.ts \
 *   [--output dist/portolan]
 * ```
 *
 * Exit status: 0 built, 1 not built (one line on stderr), 2 bad arguments.
 *
 * @module
 */

/** The permissions the binary runs with: the scan task's, less running Deno (no Deno inside). */
export const BINARY_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys=osRelease",
  "--allow-ffi",
];

/**
 * The V8 flags the binary runs with, as the scan task's: a young generation
 * of at most 4 MB a semi-space (V8 grows it to 16 MB under a sweep's
 * allocation rate; the cap takes ~50 MB off a /16 sweep's peak at no
 * measured cost in time), and an old generation let grow 10% past what the
 * last full collection kept instead of V8's up-to-4x (~8 MB off the sweep's
 * peak, within the noise in time; BENCHMARKS.md).
 */
export const BINARY_V8_FLAGS = "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=10";

/** The main module, beside this folder. */
const MAIN = new URL("../main.ts", import.meta.url).pathname;

/**
 * Worker modules: `deno compile` embeds only what is imported, and a worker
 * is started by URL (the raw receiver and sender, the connect worker, the plugin sandbox).
 */
export const WORKER_MODULES: readonly string[] = [
  "../src/engine/raw/receiver.ts",
  "../src/engine/raw/send_worker.ts",
  "../src/engine/connect/worker.ts",
  "../src/plugin_host/sandbox_worker.ts",
].map((path) => new URL(path, import.meta.url).pathname);

/** Why `deno compile` failed, in one line; the hint names DENORT_BIN when the runtime was the cause. */
export function compileFailure(stderr: string, denortBin: string | undefined): string {
  const runtime = /dl\.deno\.land|denort|Setting up base binary|error sending request|dns error/i
    .test(stderr);
  if (runtime && denortBin === undefined) {
    return "cannot build the binary: the Deno runtime for it (denort) cannot be downloaded here; " +
      "download denort-x86_64-unknown-linux-gnu.zip for this Deno version elsewhere, unzip it " +
      "and run again with DENORT_BIN=/path/to/denort (see README, Building a single binary)";
  }
  if (runtime) {
    return `cannot build the binary with DENORT_BIN=${denortBin}: ` +
      "it is not a usable denort for this Deno version";
  }
  // Anything else: Deno's own first error line, without colours or the backtrace.
  const first = stderr.split("\n").map((line) => line.trim()).find((line) => /^error/i.test(line));
  return `cannot build the binary: ${first ?? "deno compile failed"}`;
}

/** Remove `dir` when it is empty (a failed build's `dist/`), keep it otherwise. */
async function removeIfEmpty(dir: string): Promise<void> {
  try {
    for await (const _ of Deno.readDir(dir)) return;
    await Deno.remove(dir);
  } catch { /* absent, or not ours to remove */ }
}

/** Build `output`; resolves to the exit status. */
export async function compile(output: string): Promise<number> {
  const slash = output.lastIndexOf("/");
  const dir = slash > 0 ? output.slice(0, slash) : ".";
  let existed = true;
  try {
    await Deno.stat(dir);
  } catch {
    existed = false;
  }
  const denortBin = Deno.env.get("DENORT_BIN");
  if (denortBin !== undefined) {
    try {
      await Deno.stat(denortBin);
    } catch {
      console.error(
        `portolan: cannot build the binary: DENORT_BIN=${denortBin} does not exist`,
      );
      return 1;
    }
  }
  // By name: the task may run "deno" (--allow-run=deno), whichever file that is.
  const result = await new Deno.Command("deno", {
    args: [
      "compile",
      "--no-npm",
      BINARY_V8_FLAGS,
      ...BINARY_PERMISSIONS,
      ...WORKER_MODULES.flatMap((path) => ["--include", path]),
      "--output",
      output,
      MAIN,
    ],
    stdout: "inherit",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (result.success) {
    console.error(`portolan: built ${output}`);
    return 0;
  }
  if (!existed) await removeIfEmpty(dir);
  console.error(`portolan: ${compileFailure(new TextDecoder().decode(result.stderr), denortBin)}`);
  return 1;
}

if (import.meta.main) {
  const args = Deno.args;
  let output = "dist/portolan";
  if (args.length === 2 && args[0] === "--output" && args[1] !== "") output = args[1]!;
  else if (args.length !== 0) {
    console.error("Usage: scripts/compile.ts [--output FILE]");
    Deno.exit(2);
  }
  Deno.exit(await compile(output));
}
