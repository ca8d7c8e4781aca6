/**
 * Test fixtures of the output plugins' tests: the SDK's testing helpers
 * (the sample scan, running a plugin over it), and what the tests of the
 * built-ins need besides (external tools such as xmllint and ndiff).
 *
 * @module
 */

export {
  type Fixture,
  HOSTILE,
  HUGE,
  rawControls,
  runOutput,
  runOutput as runPlugin,
  sampleScan,
} from "../src/plugin_testing/mod.ts";

/** Run an external program; undefined when it is not installed. */
export async function runTool(
  command: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string } | undefined> {
  try {
    const output = await new Deno.Command(command, {
      args: [...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Whether tests that need a tool must run: under CI=true they never skip. */
export function mustRun(): boolean {
  try {
    return Deno.env.get("CI") === "true";
  } catch {
    return false;
  }
}

/** Whether a file exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
