/**
 * The plugin host: what the command line needs to load user plugins and run
 * them with the built-ins. Plugin authors import `src/plugin/mod.ts` (the
 * SDK) instead; this folder is the machinery behind it:
 *
 * - `loader.ts` imports a plugin module and collects the plugins it registers;
 * - `validate.ts` checks a probe plugin's shape (the loader checks outputs and
 *   scripts beside it);
 * - `sandbox.ts` runs a `--plugin` file in a child Deno process (or a Worker)
 *   that may read only its own file and portolan's sources, and
 *   `sandbox_serve.ts`, `sandbox_process.ts`, `sandbox_worker.ts` and
 *   `sandbox_frames.ts` are that sandbox's inside and its wire;
 * - `registry.ts` is the shape of the built-in lists main.ts hands in.
 *
 * @example
 * ```ts ignore
 * import { loadSandboxedPlugins, mergeOutputPlugins } from "./mod.ts";
 *
 * const sandbox = await loadSandboxedPlugins("examples/output_markdown.ts");
 * const outputs = mergeOutputPlugins({}, sandbox.outputs);
 * ```
 *
 * @module
 */

export {
  type LoadedOutputPlugin,
  type LoadedPlugins,
  type LoadedProbePlugin,
  type LoadedScriptPlugin,
  loadOutputPlugins,
  loadPlugins,
  mergeOutputPlugins,
  outputPluginProblem,
} from "./loader.ts";
export { probePluginProblem } from "./validate.ts";
export {
  failedSandbox,
  loadSandboxedOutputPlugins,
  loadSandboxedPlugins,
  PluginFailedError,
  type Sandbox,
  type SandboxOptions,
} from "./sandbox.ts";
export { type BuiltinPlugins, NO_BUILTINS } from "./registry.ts";
