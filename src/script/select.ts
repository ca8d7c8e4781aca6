/**
 * Which scripts a command line asks for: `-sC` is the "default" category,
 * `--script` names scripts or categories, comma-separated.
 *
 * @module
 */

import type { ScriptPlugin } from "../plugin/script_types.ts";

/** The category `-sC` runs. */
export const DEFAULT_CATEGORY = "default";

/** What the command line asked for. */
export interface ScriptRequest {
  /** `-sC` (or `-A`): the "default" category. */
  defaults: boolean;
  /** `--script` items: script names or categories ("safe", "discovery", "default", "all"). */
  names: readonly string[];
}

/**
 * The scripts `request` asks for among `available`, each once, in the order
 * available.
 *
 * @throws {RangeError} `Cannot use --script "nope": no script or category of that name (scripts: …)`
 *
 * @example
 * ```ts ignore
 * selectScripts(plugins, { defaults: true, names: [] }).map((s) => s.name);
 * // ["http-title", "ssh-hostkey", "ssl-cert"]
 * ```
 */
export function selectScripts(
  available: readonly ScriptPlugin[],
  request: ScriptRequest,
): ScriptPlugin[] {
  const wanted = new Set<ScriptPlugin>();
  if (request.defaults) {
    for (const script of available) {
      if (script.categories.includes(DEFAULT_CATEGORY)) wanted.add(script);
    }
  }
  for (const name of request.names) {
    const byName = available.filter((script) =>
      name === "all" || script.name === name || script.categories.includes(name)
    );
    if (byName.length === 0) {
      const names = available.map((script) => script.name).sort().join(", ");
      throw new RangeError(
        `Cannot use --script "${name}": no script or category of that name (scripts: ${names})`,
      );
    }
    for (const script of byName) wanted.add(script);
  }
  return available.filter((script) => wanted.has(script));
}

/**
 * `--script a,b,c` as items; a trailing or doubled comma is an error.
 *
 * @throws {RangeError} `Cannot parse --script "a,,b": empty name`
 */
export function parseScriptNames(text: string): string[] {
  const names = text.split(",").map((name) => name.trim());
  if (names.some((name) => name === "")) {
    throw new RangeError(`Cannot parse --script "${text}": empty name`);
  }
  return names;
}
