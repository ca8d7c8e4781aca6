/**
 * Loading user plugins from disk (`--plugin PATH`).
 *
 * A plugin module is a TypeScript or JavaScript file whose exports include
 * one or more plugin factories: functions that take no required argument
 * and return an output plugin (`{ name, description, write }`) or a probe
 * plugin (`{ name, description, protocols, ports, rarity, passive, probe }`,
 * see `probe_types.ts`). Every export that is a function without required
 * parameters is called once, at load time, to see what it returns; exports
 * that are not such functions, or return something that is plainly not a
 * plugin (not an object, or an object with none of `name`, `description`,
 * `write`, `probe`, `run`), are left alone. A returned object with a `run`
 * member is a script plugin (`script_types.ts`), one with a `probe` member a
 * probe plugin; any other is an output plugin.
 *
 * This loads in the current isolate, with its permissions; the command line
 * loads user plugins through `sandbox.ts`, which runs this inside a Worker
 * that may read only the plugin's file.
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { probePluginProblem } from "./validate.ts";
import type { ProbePlugin } from "../plugin/probe_types.ts";
import { type ScriptPlugin, scriptPluginProblem } from "../plugin/script_types.ts";
import type { OutputPlugin } from "../plugin/types.ts";

/** Whether `value` is a valid script plugin (its problems named by scriptPluginProblem). */
function isScriptPlugin(value: unknown): value is ScriptPlugin {
  return scriptPluginProblem(value) === undefined;
}

/** Whether `value` is a valid probe plugin (its problems named by probePluginProblem). */
function isProbePlugin(value: unknown): value is ProbePlugin {
  return probePluginProblem(value) === undefined;
}

/** Whether `value` is a valid output plugin (its problems named by outputPluginProblem). */
function isOutputPlugin(value: unknown): value is OutputPlugin {
  return outputPluginProblem(value) === undefined;
}

/** An output plugin factory and where it came from. */
export interface LoadedOutputPlugin {
  /** The plugin's name, for `--output NAME:FILE`. */
  name: string;
  description: string;
  /** The export that makes it. */
  exportName: string;
  /** The file, as given. */
  path: string;
  /** A fresh plugin object for each output. */
  factory: () => OutputPlugin;
}

/** A probe plugin and where it came from. */
export interface LoadedProbePlugin {
  name: string;
  description: string;
  /** The export that makes it. */
  exportName: string;
  /** The file, as given. */
  path: string;
  /** The plugin, made once: a probe plugin keeps no state, so one object serves every port. */
  plugin: ProbePlugin;
}

/** A script plugin and where it came from. */
export interface LoadedScriptPlugin {
  name: string;
  description: string;
  /** The export that makes it. */
  exportName: string;
  /** The file, as given. */
  path: string;
  /** The plugin, made once: a script keeps no state, so one object serves every port. */
  plugin: ScriptPlugin;
}

/** Every plugin a module exports, by kind. */
export interface LoadedPlugins {
  outputs: LoadedOutputPlugin[];
  probes: LoadedProbePlugin[];
  /** Script plugins (objects with `run`); absent from loaders that predate them. */
  scripts?: LoadedScriptPlugin[];
}

/** Names usable in `--output NAME:FILE`. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split("\n").find((line) => line.trim() !== "") ?? "").trim() || "unknown error";
}

function looksLikePlugin(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null &&
    ("name" in value || "write" in value || "description" in value || "probe" in value ||
      "run" in value);
}

/** Why `value` is not an {@link OutputPlugin}, or undefined when it is one. */
export function outputPluginProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "it is not an object";
  const record = value as Record<string, unknown>;
  if (typeof record.name !== "string") return "`name` is not a string";
  if (!NAME.test(record.name)) {
    return `name "${record.name}" must be letters, digits, ".", "_" or "-"`;
  }
  if (typeof record.description !== "string") return "`description` is not a string";
  if (typeof record.write !== "function") return "`write` is not a function";
  return undefined;
}

/** Why `value` is not a plugin of the kind it looks like, or undefined when it is one. */
function pluginProblem(value: Record<string, unknown>): string | undefined {
  if ("run" in value) return scriptPluginProblem(value);
  return "probe" in value ? probePluginProblem(value) : outputPluginProblem(value);
}

/**
 * Import a plugin module and return the output plugins it exports (probe
 * plugins it may also export are left out; {@link loadPlugins} returns both).
 *
 * @throws {Error} one line naming the file, e.g.
 * `Cannot load plugin "x.ts": file not found`,
 * `Cannot load plugin "x.ts": it exports no output plugin factory (a function returning { name, description, write })`,
 * `Cannot load plugin "x.ts": export "yaml" returns no valid output plugin: \`write\` is not a function`,
 * `Cannot load plugin "x.ts": export "yaml" threw: boom`.
 *
 * @example
 * ```ts ignore
 * import { loadOutputPlugins } from "./loader.ts";
 * const [markdown] = await loadOutputPlugins("examples/output_markdown.ts");
 * console.log(markdown?.name); // "markdown"
 * ```
 */
export async function loadOutputPlugins(
  path: string,
  options: { cwd?: string } = {},
): Promise<LoadedOutputPlugin[]> {
  const { outputs } = await importPlugins(path, options);
  if (outputs.length === 0) {
    throw loadError(
      path,
      "it exports no output plugin factory (a function returning { name, description, write })",
    );
  }
  return outputs;
}

/**
 * Import a plugin module and return the output and probe plugins it exports.
 *
 * @throws {Error} as {@link loadOutputPlugins}, and
 * `Cannot load plugin "x.ts": it exports no output plugin factory (a function returning { name, description, write }) and no probe plugin factory (a function returning { name, description, protocols, ports, rarity, passive, probe })`,
 * `Cannot load plugin "x.ts": export "gopher" returns no valid probe plugin: \`rarity\` is not an integer 0-9`.
 *
 * @example
 * ```ts ignore
 * import { loadPlugins } from "./loader.ts";
 * const { probes } = await loadPlugins("examples/probe_gopher.ts");
 * console.log(probes[0]?.name); // "gopher"
 * ```
 */
export async function loadPlugins(
  path: string,
  options: { cwd?: string } = {},
): Promise<LoadedPlugins> {
  const loaded = await importPlugins(path, options);
  if (
    loaded.outputs.length === 0 && loaded.probes.length === 0 &&
    (loaded.scripts ?? []).length === 0
  ) {
    throw loadError(
      path,
      "it exports no output plugin factory (a function returning { name, description, write }), no probe plugin factory (a function returning { name, description, protocols, ports, rarity, passive, probe }) and no script plugin factory (a function returning { name, description, categories, ports, services, run })",
    );
  }
  return loaded;
}

function loadError(path: string, why: string): Error {
  return new Error(`Cannot load plugin "${path}": ${why}`);
}

async function importPlugins(
  path: string,
  options: { cwd?: string },
): Promise<LoadedPlugins> {
  const fail = (why: string): Error => loadError(path, why);
  if (path === "") throw fail("the file name is empty");
  const absolute = resolve(options.cwd ?? Deno.cwd(), path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(absolute);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw fail("file not found");
    throw fail(firstLine(error).replace(/ \(os error \d+\)[\s\S]*$/, ""));
  }
  if (!info.isFile) throw fail("not a file");

  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(absolute).href);
  } catch (error) {
    throw fail(`import failed: ${firstLine(error)}`);
  }

  const outputs: LoadedOutputPlugin[] = [];
  const probes: LoadedProbePlugin[] = [];
  const scripts: LoadedScriptPlugin[] = [];
  for (const [exportName, value] of Object.entries(module)) {
    if (typeof value !== "function") {
      if (looksLikePlugin(value) && pluginProblem(value) === undefined) {
        throw fail(
          `export "${exportName}" is a plugin object; export a function that returns it`,
        );
      }
      continue;
    }
    // A function with required parameters is a helper, not a factory.
    if (value.length > 0) continue;
    const factory = value as () => unknown;
    let made: unknown;
    try {
      made = factory();
    } catch (error) {
      throw fail(`export "${exportName}" threw: ${firstLine(error)}`);
    }
    if (made instanceof Promise) {
      // Keep a rejected promise from surfacing as an unhandled rejection.
      made.catch(() => {});
      throw fail(`export "${exportName}" returns a promise; a factory must return the plugin`);
    }
    if (!looksLikePlugin(made)) continue;
    const where = { exportName, path };
    if ("run" in made) {
      if (!isScriptPlugin(made)) {
        throw fail(
          `export "${exportName}" returns no valid script plugin: ${scriptPluginProblem(made)}`,
        );
      }
      scripts.push({ name: made.name, description: made.description, ...where, plugin: made });
      continue;
    }
    if ("probe" in made) {
      if (!isProbePlugin(made)) {
        throw fail(
          `export "${exportName}" returns no valid probe plugin: ${probePluginProblem(made)}`,
        );
      }
      probes.push({ name: made.name, description: made.description, ...where, plugin: made });
      continue;
    }
    if (!isOutputPlugin(made)) {
      throw fail(
        `export "${exportName}" returns no valid output plugin: ${outputPluginProblem(made)}`,
      );
    }
    const plugin = made;
    outputs.push({
      name: plugin.name,
      description: plugin.description,
      exportName,
      path,
      factory: (): OutputPlugin => {
        const fresh = factory();
        if (!isOutputPlugin(fresh)) {
          throw new Error(`Plugin "${path}" export "${exportName}": ${outputPluginProblem(fresh)}`);
        }
        return fresh;
      },
    });
  }
  for (const [kind, list] of [["", outputs], ["probe ", probes], ["script ", scripts]] as const) {
    const seen = new Set<string>();
    for (const plugin of list) {
      if (seen.has(plugin.name)) {
        throw fail(`two exports make a ${kind}plugin named "${plugin.name}"`);
      }
      seen.add(plugin.name);
    }
  }
  return { outputs, probes, scripts };
}

/**
 * Output plugins by name: the built-ins, then each loaded file's plugins.
 *
 * @throws {Error} `Cannot load plugin "x.ts": plugin name "json" is already taken (built in)`
 */
export function mergeOutputPlugins(
  builtIn: Readonly<Record<string, () => OutputPlugin>>,
  loaded: readonly LoadedOutputPlugin[],
): Map<string, () => OutputPlugin> {
  const registry = new Map<string, () => OutputPlugin>(Object.entries(builtIn));
  const origin = new Map<string, string>();
  for (const plugin of loaded) {
    if (registry.has(plugin.name)) {
      const where = origin.get(plugin.name);
      throw new Error(
        `Cannot load plugin "${plugin.path}": plugin name "${plugin.name}" is already taken (${
          where === undefined ? "built in" : `by "${where}"`
        })`,
      );
    }
    registry.set(plugin.name, plugin.factory);
    origin.set(plugin.name, plugin.path);
  }
  return registry;
}
