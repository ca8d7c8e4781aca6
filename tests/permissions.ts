/**
 * The permissions deno.json's tasks grant, read from deno.json itself, so
 * that tests and benches run the scanner exactly as a user's task does.
 *
 * @module
 */

import config from "../deno.json" with { type: "json" };

/**
 * The words of the deno.json task `name` that start with `prefix`.
 *
 * @throws {RangeError} when deno.json has no such task.
 */
function taskWords(name: string, prefix: string): string[] {
  const task = (config.tasks as Record<string, string | undefined>)[name];
  if (task === undefined) throw new RangeError(`Cannot find task "${name}" in deno.json`);
  return task.split(/\s+/).filter((word) => word.startsWith(prefix));
}

/**
 * The `--allow-*` flags of the deno.json task `name`.
 *
 * @throws {RangeError} when deno.json has no such task.
 */
export function taskPermissions(name: string): string[] {
  return taskWords(name, "--allow-");
}

/** Permissions the scan task grants (deno.json "scan"). */
export const SCAN_PERMISSIONS: readonly string[] = Object.freeze(taskPermissions("scan"));

/**
 * The `--v8-flags=…` of the deno.json task `name` (none: an empty list).
 *
 * @throws {RangeError} when deno.json has no such task.
 */
export function taskV8Flags(name: string): string[] {
  return taskWords(name, "--v8-flags=");
}

/**
 * What `deno run` is given by the scan task before main.ts: its V8 flags
 * (memory is measured as a user's scan runs) and its permissions.
 */
export const SCAN_FLAGS: readonly string[] = Object.freeze([
  ...taskV8Flags("scan"),
  ...SCAN_PERMISSIONS,
]);
