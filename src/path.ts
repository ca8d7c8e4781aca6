/**
 * POSIX path and file-URL helpers. The scanner's own, because importing
 * `node:path` or `node:url` starts Deno's Node compatibility layer (~6 MB of
 * every scan's memory) for a handful of string operations.
 *
 * @module
 */

/** Whether `path` starts at the root. */
export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/** `path` with `.`, `..`, empty and repeated segments folded; `.` when nothing is left. */
export function normalize(path: string): string {
  const absolute = isAbsolute(path);
  const kept: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (kept.length > 0 && kept[kept.length - 1] !== "..") kept.pop();
      else if (!absolute) kept.push(part);
      continue;
    }
    kept.push(part);
  }
  const body = kept.join("/");
  if (absolute) return `/${body}`;
  return body === "" ? "." : body;
}

/** The segments joined by `/` and normalized; `.` for none. */
export function join(...parts: string[]): string {
  const kept = parts.filter((part) => part !== "");
  return kept.length === 0 ? "." : normalize(kept.join("/"));
}

/**
 * The absolute path that the segments name, read right to left until one is
 * absolute; relative ones rest on the working directory.
 */
export function resolve(...parts: string[]): string {
  let joined = "";
  for (let i = parts.length - 1; i >= 0 && !isAbsolute(joined); i--) {
    const part = parts[i] ?? "";
    if (part !== "") joined = joined === "" ? part : `${part}/${joined}`;
  }
  if (!isAbsolute(joined)) joined = joined === "" ? Deno.cwd() : `${Deno.cwd()}/${joined}`;
  return normalize(joined);
}

/** The directory part of `path`, normalized (`.` when it has none, `/` for the root). */
export function dirname(path: string): string {
  if (path === "") return ".";
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  const cut = trimmed.lastIndexOf("/");
  if (cut < 0) return ".";
  return cut === 0 ? "/" : normalize(trimmed.slice(0, cut));
}

/** The last segment of `path`, trailing slashes ignored. */
export function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** The local path a `file:` URL names. */
export function fromFileUrl(url: string | URL): string {
  const parsed = url instanceof URL ? url : new URL(url);
  if (parsed.protocol !== "file:") throw new TypeError(`Not a file URL: ${parsed.href}`);
  return decodeURIComponent(parsed.pathname);
}

/**
 * The `file:` URL of an absolute path. `%`, `\` and the characters a URL
 * parser drops or reads as syntax are escaped, so every file name survives.
 */
export function toFileUrl(path: string): URL {
  if (!isAbsolute(path)) throw new TypeError(`Not an absolute path: ${path}`);
  const url = new URL("file:///");
  url.pathname = path.replace(
    /[%\\\t\n\r]/g,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}`,
  );
  return url;
}
