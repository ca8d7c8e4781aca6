/**
 * Paths on the command line are the user's: relative to where the user ran
 * the command. `deno task` runs in the folder of deno.json and says where the
 * user stood in `INIT_CWD` (as `npm run` does); elsewhere that is the
 * process's working directory.
 *
 * @module
 */

import { isAbsolute, resolve } from "../path.ts";
import type { CliOptions } from "./args.ts";

/** Where the user ran the command, or undefined when that cannot be known. */
export function userDirectory(
  env: (name: string) => string | undefined,
  cwd: () => string | undefined,
): string | undefined {
  const init = env("INIT_CWD");
  return init !== undefined && isAbsolute(init) ? init : cwd();
}

/** `path` taken from `base`; `-` (stdin, stdout) and absolute paths stay as they are. */
export function userPath(path: string, base: string | undefined): string {
  if (base === undefined || path === "-" || path === "" || isAbsolute(path)) return path;
  return resolve(base, path);
}

/**
 * Every path `options` holds (outputs, -iL, --excludefile, --plugin, --db,
 * --resume, --resume-file) taken from `base`, in place; targets are not paths.
 */
export function resolveUserPaths(options: CliOptions, base: string | undefined): CliOptions {
  if (base === undefined) return options;
  const at = (path: string): string => userPath(path, base);
  options.outputs = options.outputs.map((output) => ({ ...output, path: at(output.path) }));
  options.plugins = options.plugins.map(at);
  if (options.inputList !== undefined) options.inputList = at(options.inputList);
  if (options.excludeFile !== undefined) options.excludeFile = at(options.excludeFile);
  if (options.db !== undefined) options.db = at(options.db);
  if (options.resume !== undefined) options.resume = at(options.resume);
  if (options.resumeFile !== undefined) options.resumeFile = at(options.resumeFile);
  return options;
}
