/**
 * Loading user plugins from disk (`--plugin PATH`).
 *
 * A plugin module is a TypeScript or JavaScript file that registers its
 * plugins with `export default [...]`: plugin factories (functions without
 * required parameters, called with the user's options) and plugin objects
 * (see `default_export.ts`). Each factory is called once at load time, with
 * no options, to see what it makes: an output plugin
 * (`{ name, description, write }`), a probe plugin
 * (`{ name, description, protocols, ports, rarity, passive, probe }`, see
 * `probe_types.ts`) or a script plugin (`script_types.ts`). An object with a
 * `run` member is a script plugin, one with a `probe` member a probe plugin;
 * any other is an output plugin. The module's other exports are left alone.
 *
 * This loads in the current isolate, with its permissions; the command line
 * loads user plugins through `sandbox.ts`, which runs this inside a Worker
 * that may read only the plugin's file.
 *
 * @module
 */

import { resolve, toFileUrl } from "../path.ts";
import { namedPluginProblem, probePluginProblem } from "./validate.ts";
import type { ProbePlugin } from "../plugin/probe_types.ts";
import { type ScriptPlugin, scriptPluginProblem } from "../plugin/script_types.ts";
import type { OutputPlugin } from "../plugin/types.ts";
import type { OptionValue } from "../plugin/mod.ts";
import { registered } from "./default_export.ts";
import type { OutputOptions } from "./output_options.ts";

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
  /** Which entry of the default export makes it (`default[0] (markdownOutput)`). */
  exportName: string;
  /** The file, as given. */
  path: string;
  /** The options `--output NAME:FILE?key=value` may give, with their defaults. */
  defaults?: Readonly<Record<string, OptionValue>>;
  /** A fresh plugin object for each output, made with the options given (checked against `defaults`). */
  factory: (options?: OutputOptions) => OutputPlugin;
}

/** A probe plugin and where it came from. */
export interface LoadedProbePlugin {
  name: string;
  description: string;
  /** Which entry of the default export makes it (`default[1] (gopherProbe)`). */
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
  /** Which entry of the default export makes it (`default[1] (gopherProbe)`). */
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
  const problem = namedPluginProblem(value);
  if (problem !== undefined) return problem;
  if (typeof (value as Record<string, unknown>).write !== "function") {
    return "`write` is not a function";
  }
  return undefined;
}

/**
 * Import a plugin module and return the output plugins it registers (probe
 * plugins it may also register are left out; {@link loadPlugins} returns both).
 *
 * @throws {Error} one line naming the file, e.g.
 * `Cannot load plugin "x.ts": file not found`,
 * `Cannot load plugin "x.ts": it has no default export: add "export default [yamlOutput]" listing its plugins`,
 * `Cannot load plugin "x.ts": its default export lists no output plugin`,
 * `Cannot load plugin "x.ts": default[0] (yamlOutput) makes no valid output plugin: \`write\` is not a function`,
 * `Cannot load plugin "x.ts": default[0] (yamlOutput) threw: boom`.
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
    throw loadError(path, "its default export lists no output plugin");
  }
  return outputs;
}

/**
 * Import a plugin module and return the output, probe and script plugins it registers.
 *
 * @throws {Error} as {@link loadOutputPlugins} (but for a module without
 * output plugins), and
 * `Cannot load plugin "x.ts": default[0] (gopherProbe) makes no valid probe plugin: \`rarity\` is not an integer 0-9`.
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
  // An empty list is refused while importing: every loaded module holds a plugin.
  return await importPlugins(path, options);
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
    module = await import(toFileUrl(absolute).href);
  } catch (error) {
    throw fail(`import failed: ${firstLine(error)}`);
  }

  const outputs: LoadedOutputPlugin[] = [];
  const probes: LoadedProbePlugin[] = [];
  const scripts: LoadedScriptPlugin[] = [];
  for (const { exportName, make, defaults } of registered(module, fail)) {
    let made: unknown;
    try {
      made = make();
    } catch (error) {
      throw fail(`${exportName} threw: ${firstLine(error)}`);
    }
    if (made instanceof Promise) {
      // Keep a rejected promise from surfacing as an unhandled rejection.
      made.catch(() => {});
      throw fail(`${exportName} returns a promise; a factory must return the plugin`);
    }
    if (!looksLikePlugin(made)) {
      throw fail(
        `${exportName} is no plugin: expected an object with name, description and write, probe or run`,
      );
    }
    const where = { exportName, path };
    if ("run" in made) {
      if (!isScriptPlugin(made)) {
        throw fail(`${exportName} makes no valid script plugin: ${scriptPluginProblem(made)}`);
      }
      scripts.push({ name: made.name, description: made.description, ...where, plugin: made });
      continue;
    }
    if ("probe" in made) {
      if (!isProbePlugin(made)) {
        throw fail(`${exportName} makes no valid probe plugin: ${probePluginProblem(made)}`);
      }
      probes.push({ name: made.name, description: made.description, ...where, plugin: made });
      continue;
    }
    if (!isOutputPlugin(made)) {
      throw fail(`${exportName} makes no valid output plugin: ${outputPluginProblem(made)}`);
    }
    const factory = (options?: OutputOptions): OutputPlugin => {
      const fresh = make(options);
      if (!isOutputPlugin(fresh)) {
        throw new Error(`Plugin "${path}" ${exportName}: ${outputPluginProblem(fresh)}`);
      }
      return fresh;
    };
    outputs.push({
      name: made.name,
      description: made.description,
      exportName,
      path,
      defaults,
      // The defaults ride on the factory too, as on the SDK's, for whoever holds only it.
      factory: Object.assign(factory, { defaults }),
    });
  }
  for (const [kind, list] of [["", outputs], ["probe ", probes], ["script ", scripts]] as const) {
    const seen = new Set<string>();
    for (const plugin of list) {
      if (seen.has(plugin.name)) {
        throw fail(`two entries of its default export make a ${kind}plugin named "${plugin.name}"`);
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
