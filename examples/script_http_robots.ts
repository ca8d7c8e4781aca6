/**
 * An example user script plugin: the disallowed entries of a web server's
 * `/robots.txt`, as nmap's http-robots.txt script prints them. Load it with
 *
 * ```sh
 * deno task scan -sV --plugin examples/script_http_robots.ts --script http-robots.txt -p 80 127.0.0.1
 * ```
 *
 * It shows the script contract: a factory (a function without required
 * parameters) returning a `ScriptPlugin`, listed in `export default [...]`: where
 * it applies (`ports`, `services`), its nmap categories (with "default",
 * `-sC` runs it too), and `run(conn, context)`, which talks through the
 * connection it is given (inside TLS already on an https port; it never
 * opens a socket: in the sandbox it could not) and returns what to show: a
 * text, or lines, or undefined for nothing. The parser is a separate export
 * so it can be tested alone. See PLUGINS.md, "Script plugins".
 *
 * @module
 */

import type { ScriptPlugin } from "../src/plugin/mod.ts";

/** Entries listed at most, as nmap's script cuts long files. */
const MAX_ENTRIES = 15;

/** The `Disallow:` paths of a robots.txt, in order, each once. */
export function disallowedEntries(text: string): string[] {
  const entries: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const found = /^\s*disallow\s*:\s*(\S+)/i.exec(line);
    if (found !== null && !entries.includes(found[1]!)) entries.push(found[1]!);
  }
  return entries;
}

/** The `http-robots.txt` script. */
export function httpRobotsScript(): ScriptPlugin {
  return {
    name: "http-robots.txt",
    description: "The disallowed entries of /robots.txt",
    categories: ["default", "discovery", "safe"],
    ports: [80, 443, 8080],
    services: ["http", "https"],
    async run(conn): Promise<string | undefined> {
      const host = conn.address.includes(":") ? `[${conn.address}]` : conn.address;
      await conn.write(
        `GET /robots.txt HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      );
      const answer = await conn.readText({ maxBytes: 65_536, timeoutMs: 5000, idleMs: 1000 });
      if (!/^HTTP\/1\.[01] 200 /.test(answer)) return undefined;
      const body = answer.slice(answer.search(/\r?\n\r?\n/) + 1);
      const entries = disallowedEntries(body);
      if (entries.length === 0) return undefined;
      const count = `${entries.length} disallowed ${entries.length === 1 ? "entry" : "entries"}`;
      return `${count} \n${entries.slice(0, MAX_ENTRIES).join(" ")}`;
    },
  };
}

/** What this module registers: `--plugin examples/script_http_robots.ts` loads these. */
export default [httpRobotsScript];
