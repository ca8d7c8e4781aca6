/**
 * The built-in plugins, handed in by whoever starts the command (main.ts
 * passes plugins/mod.ts's lists): the host code under src/ never imports
 * the plugins it runs, so the arrows run one way.
 *
 * @module
 */

import type { OutputPlugin } from "../plugin/types.ts";
import type { ProbePlugin } from "../plugin/probe_types.ts";
import type { ScriptPlugin } from "../plugin/script_types.ts";

/** Factories of the built-in plugins, by kind. */
export interface BuiltinPlugins {
  /** Output formats by name (`json`, `xml`, …), as `--output NAME:FILE` names them. */
  outputs: Readonly<Record<string, () => OutputPlugin>>;
  /** Service probes (-sV). */
  probes: readonly (() => ProbePlugin)[];
  /** Scripts (-sC, --script). */
  scripts: readonly (() => ScriptPlugin)[];
}

/** No built-ins: a command that only loads what the user names. */
export const NO_BUILTINS: BuiltinPlugins = Object.freeze({
  outputs: Object.freeze({}),
  probes: Object.freeze([]),
  scripts: Object.freeze([]),
});
