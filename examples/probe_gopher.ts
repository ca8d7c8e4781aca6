/**
 * An example user probe plugin: Gopher (RFC 1436), for service detection.
 * Load it with
 *
 * ```sh
 * deno task scan -sV --plugin examples/probe_gopher.ts -p 70 127.0.0.1
 * ```
 *
 * Gopher is a good first protocol: the client sends a selector line (an
 * empty one asks for the root menu) and the server answers with menu lines,
 * `<type><display>TAB<selector>TAB<host>TAB<port>`, ended by a line holding
 * a single ".". Many servers name themselves in an info line ("i…") of the
 * root menu, e.g. "Gophernicus/3.1.1 on Debian/12 x86_64".
 *
 * It shows the whole probe contract: a factory (a function without
 * required parameters) returning a `ProbePlugin`, listed in
 * `export default [...]`; `probe`
 * talks through the `conn` it is given (it never opens a socket: in the
 * sandbox it could not) and returns a match, or undefined when the answer
 * is not Gopher. The parser is a separate export so it can be tested alone.
 * See PLUGINS.md, "Probe plugins".
 *
 * @module
 */

import { latin1, type ProbePlugin, type ServiceMatch } from "../src/plugin/mod.ts";

/** One menu line: an item type, then display, selector, host and port separated by tabs. */
const MENU_LINE = /^[0-9+gIThisdp:;<][^\t]*\t[^\t]*\t[^\t]*\t\d{1,5}(\t[^\t]*)?$/;

/** Servers known to name themselves, as the product they are. */
const PRODUCTS: [RegExp, string][] = [
  [/\bGophernicus(?:\/v?(\d[\w.]*))?(?: on ([^\t]+))?/i, "Gophernicus"],
  [/\bPyGopherd(?:[/ ]v?(\d[\w.]*))?/i, "PyGopherd"],
  [/\bBucktooth(?:[/ ]v?(\d[\w.]*))?/i, "Bucktooth"],
  [/\bGeomyidae(?:[/ ]v?(\d[\w.]*))?/i, "Geomyidae"],
  [/\bMotsognir(?:[/ ]v?(\d[\w.]*))?/i, "Motsognir"],
];

/** The end of a menu: a line holding a single ".". */
const MENU_END = /(?:^|\n)\.\r?\n$/;

/**
 * Parse the answer to an empty selector: a Gopher menu, or undefined when
 * it is not one. Only complete lines are judged (a capped read may cut the
 * last), and the first three must all be menu lines.
 *
 * @example
 * ```ts
 * import { parseGopherMenu } from "./probe_gopher.ts";
 * const menu = "iGophernicus/3.1.1 on Debian/12\tfake\t(NULL)\t0\r\n" +
 *   "1Docs\t/docs\tlab.example\t70\r\n.\r\n";
 * parseGopherMenu(menu)?.product; // "Gophernicus"
 * parseGopherMenu("HTTP/1.0 400 Bad Request\r\n"); // undefined
 * ```
 */
export function parseGopherMenu(answer: string): ServiceMatch | undefined {
  const complete = answer.slice(0, answer.lastIndexOf("\n") + 1);
  const lines = complete.split(/\r?\n/).slice(0, -1);
  const end = lines.indexOf(".");
  const items = end < 0 ? lines : lines.slice(0, end);
  if (items.length === 0 || !items.slice(0, 3).every((line) => MENU_LINE.test(line))) {
    return undefined;
  }
  for (const line of items) {
    const display = line.slice(1, line.indexOf("\t"));
    for (const [pattern, product] of PRODUCTS) {
      const found = pattern.exec(display);
      if (found === null) continue;
      return {
        name: "gopher",
        product,
        ...(found[1] === undefined ? {} : { version: found[1] }),
        ...(found[2] === undefined ? {} : { extraInfo: found[2].trim() }),
      };
    }
  }
  return { name: "gopher" };
}

/** The Gopher probe plugin: asks for the root menu and checks its shape. */
export function gopherProbe(): ProbePlugin {
  return {
    name: "gopher",
    description: "Gopher (RFC 1436): asks for the root menu",
    protocols: ["tcp"],
    ports: [70],
    rarity: 5,
    // It writes, so it is an active probe (a passive one only reads `conn.greeting`).
    passive: false,
    async probe(conn): Promise<ServiceMatch | undefined> {
      // A Gopher server waits for the client; a greeting means another service.
      if (conn.greeting.length > 0) return undefined;
      await conn.write("\r\n");
      const answer = await conn.read({
        maxBytes: 8192,
        // A test, not a string: the end line must be the last thing received.
        until: (bytes) => MENU_END.test(latin1(bytes)),
        // Servers that close without the end line: stop once they fall silent.
        idleMs: 500,
      });
      return parseGopherMenu(latin1(answer));
    },
  };
}

/** What this module registers: `--plugin examples/probe_gopher.ts` loads these. */
export default [gopherProbe];
