/**
 * The scripts a command line runs (`-sC`, `--script`, `-A`): the built-ins
 * and those of `--plugin` files, chosen by name or category.
 *
 * @module
 */

import type { ScriptPlugin } from "../plugin/script_types.ts";
import { selectScripts } from "../script/select.ts";
import type { CliOptions } from "./args.ts";
import { UsageError } from "./usage_error.ts";

/** What `-A` stands for in nmap and this build has not, said once when -A is used. */
export const AGGRESSIVE_NOTE =
  "portolan: -A runs -sV and -sC (and reverse DNS unless -n); OS detection (-O) and --traceroute are not available in this build\n";

/**
 * The scripts to run, built-ins first, then `loaded` (user plugins), each
 * name once; none when neither -sC nor --script was given.
 *
 * @throws {UsageError} an unknown script or category, or a user script
 * whose name a built-in already has.
 */
export function planScripts(
  options: Pick<CliOptions, "scriptDefaults" | "scripts">,
  loaded: readonly ScriptPlugin[],
  context: { builtins: readonly (() => ScriptPlugin)[] },
): ScriptPlugin[] {
  if (!options.scriptDefaults && options.scripts.length === 0) return [];
  const available = context.builtins.map((make) => make());
  for (const script of loaded) {
    if (available.some((known) => known.name === script.name)) {
      throw new UsageError(`Cannot load script "${script.name}": a script of that name exists`);
    }
    available.push(script);
  }
  try {
    return selectScripts(available, { defaults: options.scriptDefaults, names: options.scripts });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
