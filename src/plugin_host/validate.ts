/**
 * Checking that a value loaded from a user's plugin file is a probe plugin
 * (and the name and description every output and probe plugin has).
 *
 * @module
 */

/** Names an output or probe plugin may have (`--output NAME:FILE`). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Why `value` is not an object with a usable `name` and a `description`
 * (what output and probe plugins share), or undefined when it is one.
 */
export function namedPluginProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "it is not an object";
  const record = value as Record<string, unknown>;
  if (typeof record.name !== "string") return "`name` is not a string";
  if (!NAME.test(record.name)) {
    return `name "${record.name}" must be letters, digits, ".", "_" or "-"`;
  }
  if (typeof record.description !== "string") return "`description` is not a string";
  return undefined;
}

/**
 * Why `value` is not a {@link ../plugin/probe_types.ts ProbePlugin}, or
 * undefined when it is one.
 *
 * @example
 * ```ts
 * import { probePluginProblem } from "./validate.ts";
 * probePluginProblem({ name: "x" }); // "`description` is not a string"
 * ```
 */
export function probePluginProblem(value: unknown): string | undefined {
  const problem = namedPluginProblem(value);
  if (problem !== undefined) return problem;
  const record = value as Record<string, unknown>;
  const protocols = record.protocols;
  if (
    !Array.isArray(protocols) || protocols.length === 0 ||
    !protocols.every((item) => item === "tcp" || item === "udp")
  ) {
    return '`protocols` is not a non-empty list of "tcp" and "udp"';
  }
  for (const key of ["ports", "tlsPorts"] as const) {
    const ports = record[key];
    if (key === "tlsPorts" && ports === undefined) continue;
    if (
      !Array.isArray(ports) ||
      !ports.every((port) => Number.isInteger(port) && port >= 1 && port <= 65535)
    ) {
      return `\`${key}\` is not a list of ports 1-65535`;
    }
  }
  const rarity = record.rarity;
  if (typeof rarity !== "number" || !Number.isInteger(rarity) || rarity < 0 || rarity > 9) {
    return "`rarity` is not an integer 0-9";
  }
  if (typeof record.passive !== "boolean") return "`passive` is not a boolean";
  if (typeof record.probe !== "function") return "`probe` is not a function";
  return undefined;
}
