/**
 * Scripts (`-sC`, `--script`): the engine that runs script plugins on open
 * ports after detection, and the selection of scripts from the command
 * line. Script plugins are described in `src/plugin/script_types.ts`; the
 * built-ins are `scriptPlugins` in `plugins/mod.ts`.
 *
 * @module
 */

export {
  createScriptRunner,
  SCRIPT_CONNECTIONS,
  SCRIPT_LINE_CHARS,
  SCRIPT_MAX_LINES,
  SCRIPT_TIMEOUT_MS,
  scriptApplies,
  scriptOutput,
} from "./engine.ts";
export type { ScriptRunner, ScriptRunnerOptions } from "./engine.ts";
export { DEFAULT_CATEGORY, parseScriptNames, selectScripts } from "./select.ts";
export type { ScriptRequest } from "./select.ts";
