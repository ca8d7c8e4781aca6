/**
 * Script `http-title`: the title of a web server's root page, as nmap's
 * http-title prints it.
 *
 * @module
 */

import type { ScriptPlugin } from "../src/plugin/mod.ts";
import { htmlTitle } from "./probe_http.ts";
import { header, httpRequest } from "./script_http.ts";

/** Ports and service names of the `http-*` scripts. */
export const HTTP_PORTS: readonly number[] = Object.freeze([
  80,
  443,
  631,
  3000,
  5000,
  8000,
  8008,
  8080,
  8081,
  8443,
  8888,
]);
export const HTTP_SERVICES: readonly string[] = Object.freeze([
  "http",
  "https",
  "http-alt",
  "http-proxy",
  "https-alt",
]);

/** The `http-title` script (nmap's "default" category). */
export function httpTitleScript(): ScriptPlugin {
  return {
    name: "http-title",
    description: "The title of the root page (`GET /`), or where it redirects",
    categories: ["default", "discovery", "safe"],
    ports: HTTP_PORTS,
    services: HTTP_SERVICES,
    async run(conn): Promise<string | undefined> {
      const answer = await httpRequest(conn);
      if (answer === undefined) return undefined;
      const location = header(answer, "Location");
      if (answer.status >= 300 && answer.status < 400 && location !== undefined) {
        return `Did not follow redirect to ${location}`;
      }
      const title = htmlTitle(answer.body);
      if (title !== "") return title;
      const type = header(answer, "Content-Type");
      return type === undefined
        ? "Site doesn't have a title."
        : `Site doesn't have a title (${type}).`;
    },
  };
}
