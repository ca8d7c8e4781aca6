/**
 * The built-in plugins, handed in by whoever starts the command (main.ts
 * passes plugins/mod.ts's lists): the host code under src/ never imports
 * the plugins it runs, so the arrows run one way. Their type is the SDK's
 * (`src/plugin/builtins.ts`).
 *
 * @module
 */

import type { BuiltinPlugins } from "../plugin/builtins.ts";

export type { BuiltinPlugins };

/** No built-ins: a command that only loads what the user names. */
export const NO_BUILTINS: BuiltinPlugins = Object.freeze({
  outputs: Object.freeze({}),
  probes: Object.freeze([]),
  scripts: Object.freeze([]),
});
