/**
 * Script `http-headers`: the headers a web server answers to `HEAD /`, as
 * nmap's http-headers lists them.
 *
 * @module
 */

import type { ScriptPlugin } from "../src/plugin/mod.ts";
import { httpRequest } from "./script_http.ts";
import { HTTP_PORTS, HTTP_SERVICES } from "./script_http_title.ts";

/** The `http-headers` script. */
export function httpHeadersScript(): ScriptPlugin {
  return {
    name: "http-headers",
    description: "The headers of the answer to `HEAD /` (`GET /` when HEAD gets nothing)",
    categories: ["discovery", "safe"],
    ports: HTTP_PORTS,
    services: HTTP_SERVICES,
    async run(conn, context): Promise<string[] | undefined> {
      let method = "HEAD";
      let answer = await httpRequest(conn, { method });
      if (answer === undefined) {
        const again = await context.connect();
        if (again === undefined) return undefined;
        method = "GET";
        answer = await httpRequest(again, { method });
      }
      if (answer === undefined) return undefined;
      return [
        ...answer.headers.map(([name, value]) => `${name}: ${value}`),
        "",
        `(Request type: ${method})`,
      ];
    },
  };
}
