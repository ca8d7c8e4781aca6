/**
 * The built-in plugins.
 *
 * @module
 */

import type { OutputPlugin } from "../src/plugins/types.ts";
import { jsonOutput } from "./output_json.ts";
import { normalOutput } from "./output_normal.ts";

export { jsonOutput, toJson } from "./output_json.ts";
export type { JsonPort } from "./output_json.ts";
export { normalOutput } from "./output_normal.ts";
export type { NormalOutputOptions } from "./output_normal.ts";

/** Built-in output plugins by the name used on the command line. */
export const outputPlugins: Record<string, () => OutputPlugin> = {
  json: jsonOutput,
  normal: (): OutputPlugin => normalOutput(),
};
