/**
 * Options of an output plugin given on the command line
 * (`--output NAME:FILE?key=value&key2=value2`). A plugin declares its
 * options by its factory's `defaults` (what the SDK's `withOptions` makes):
 * each string, number or boolean default is an option, and a value given
 * as text is converted to its default's type. Host machinery: a plugin
 * never sees the text, only the typed options its factory is called with.
 *
 * @module
 */

import type { OptionValue } from "../plugin/mod.ts";
import type { OutputPlugin } from "../plugin/types.ts";

/** Options by key, as a factory is called with them. */
export type OutputOptions = Readonly<Record<string, OptionValue>>;

function isOptionValue(value: unknown): value is OptionValue {
  return typeof value === "string" || typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value));
}

/**
 * The options a factory takes from the command line: the string, number
 * and boolean entries of its `defaults` (others, lists say, are for code
 * only). A factory without `defaults` takes none.
 */
export function optionDefaults(factory: unknown): Record<string, OptionValue> {
  const defaults: Record<string, OptionValue> = {};
  if (typeof factory !== "function" || !("defaults" in factory)) return defaults;
  const given: unknown = factory.defaults;
  if (typeof given !== "object" || given === null) return defaults;
  for (const [key, value] of Object.entries(given)) {
    if (isOptionValue(value)) defaults[key] = value;
  }
  return defaults;
}

/** `value` as checked defaults (from a sandbox message, say), or undefined when it is not one. */
export function checkedDefaults(value: unknown): Record<string, OptionValue> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const defaults: Record<string, OptionValue> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (!isOptionValue(entry)) return undefined;
    defaults[key] = entry;
  }
  return defaults;
}

/** `text` as the type of `fallback`, or why it cannot be. */
function convert(text: string, fallback: OptionValue): { value: OptionValue } | { why: string } {
  if (typeof fallback === "string") return { value: text };
  if (typeof fallback === "boolean") {
    // A bare key (`?verbose`) turns a boolean on.
    if (text === "" || text === "true") return { value: true };
    if (text === "false") return { value: false };
    return { why: `expected true or false, got "${text}"` };
  }
  const number = text.trim() === "" ? NaN : Number(text);
  if (!Number.isFinite(number)) return { why: `expected a number, got "${text}"` };
  return { value: number };
}

/**
 * The options `given` as text, typed by `defaults`.
 *
 * @throws {RangeError} `Cannot use option "x" of output "markdown": it takes title`
 * (or `it takes no options`) for a key the plugin does not have.
 * @throws {SyntaxError} `Cannot parse option "rows" of output "html": expected a number, got "many"`.
 *
 * @example
 * ```ts
 * import { typedOptions } from "./output_options.ts";
 * typedOptions("html", { tableRows: "100" }, { tableRows: 5000, dark: false });
 * // { tableRows: 100 }
 * ```
 */
export function typedOptions(
  output: string,
  given: Readonly<Record<string, string>>,
  defaults: Readonly<Record<string, OptionValue>>,
): Record<string, OptionValue> {
  const known = Object.keys(defaults).sort();
  const typed: Record<string, OptionValue> = {};
  for (const [key, text] of Object.entries(given)) {
    const fallback = Object.hasOwn(defaults, key) ? defaults[key] : undefined;
    if (fallback === undefined) {
      const takes = known.length === 0 ? "it takes no options" : `it takes ${known.join(", ")}`;
      throw new RangeError(`Cannot use option "${key}" of output "${output}": ${takes}`);
    }
    const converted = convert(text, fallback);
    if ("why" in converted) {
      throw new SyntaxError(`Cannot parse option "${key}" of output "${output}": ${converted.why}`);
    }
    typed[key] = converted.value;
  }
  return typed;
}

/**
 * An output from `factory` with `options` (none: the factory's defaults).
 * Any factory will do: one that takes no options is called without.
 */
export function makeOutput(
  factory: (options?: OutputOptions) => OutputPlugin,
  options?: OutputOptions,
): OutputPlugin {
  return options === undefined ? factory() : factory(options);
}
