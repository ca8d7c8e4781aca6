/**
 * Explicit registration: a plugin module says what it registers with
 * `export default [...]`, a list of plugin factories and plugin objects
 * (lume-style). Nothing else of the module is called; its other exports
 * (parsers, helpers) are left alone.
 *
 * @module
 */

import type { OptionValue } from "../plugin/mod.ts";
import { optionDefaults, type OutputOptions } from "./output_options.ts";

/** One entry of a module's default export. */
export interface Registered {
  /** How messages name it: `default[0]`, with the factory's name when it has one. */
  exportName: string;
  /** A fresh plugin (for a plugin object, the object itself), made with `options`. */
  make: (options?: OutputOptions) => unknown;
  /** The options it takes from the command line (a factory's `defaults`; none for an object). */
  defaults: Record<string, OptionValue>;
}

/** Names of the module's exported functions that take no argument: what the list may want. */
function candidates(module: Record<string, unknown>): string[] {
  return Object.entries(module)
    .filter(([, value]) => typeof value === "function" && value.length === 0)
    .map(([name]) => name)
    .slice(0, 3);
}

/**
 * The entries of `module`'s default export, checked for shape (what each
 * makes is checked by the caller).
 *
 * @throws {Error} made by `fail`, one line: the module has no default
 * export (and what to add), it is not a list, or an entry is neither a
 * factory (a function without required parameters) nor an object.
 */
export function registered(
  module: Record<string, unknown>,
  fail: (why: string) => Error,
): Registered[] {
  if (!("default" in module)) {
    const names = candidates(module);
    const list = names.length > 0 ? names.join(", ") : "myPlugin";
    throw fail(`it has no default export: add "export default [${list}]" listing its plugins`);
  }
  const list: unknown = module.default;
  if (!Array.isArray(list)) {
    throw fail(`its default export is not a list: write "export default [...]" of its plugins`);
  }
  if (list.length === 0) throw fail("its default export lists no plugin");
  return list.map((entry: unknown, index): Registered => {
    const at = `default[${index}]`;
    if (typeof entry === "function") {
      const exportName = entry.name === "" ? at : `${at} (${entry.name})`;
      if (entry.length > 0) {
        throw fail(`${exportName} takes a required argument; a factory takes none but its options`);
      }
      return {
        exportName,
        make: (options) => options === undefined ? entry() : entry(options),
        defaults: optionDefaults(entry),
      };
    }
    if (typeof entry === "object" && entry !== null) {
      const name = "name" in entry && typeof entry.name === "string" ? ` ("${entry.name}")` : "";
      return { exportName: `${at}${name}`, make: () => entry, defaults: {} };
    }
    throw fail(`${at} is neither a plugin factory nor a plugin object`);
  });
}
