/**
 * The built-in plugins' list, as the command is handed it (main.ts passes
 * plugins/mod.ts's lists): a plugin contract, so it sits with the SDK and
 * the host imports it from here.
 *
 * @module
 */

import type { OutputPlugin } from "./types.ts";
import type { ProbePlugin } from "./probe_types.ts";
import type { ScriptPlugin } from "./script_types.ts";

/** Factories of the built-in plugins, by kind. */
export interface BuiltinPlugins {
  /** Output formats by name (`json`, `xml`, …), as `--output NAME:FILE` names them. */
  outputs: Readonly<Record<string, () => OutputPlugin>>;
  /** Service probes (-sV). */
  probes: readonly (() => ProbePlugin)[];
  /** Scripts (-sC, --script). */
  scripts: readonly (() => ScriptPlugin)[];
}
