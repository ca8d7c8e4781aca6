/**
 * Script `http-server-header`: a web server's `Server` header, as nmap's
 * http-server-header prints it.
 *
 * @module
 */

import type { ScriptPlugin } from "../src/plugin/mod.ts";
import { header, httpRequest } from "./script_http.ts";
import { HTTP_PORTS, HTTP_SERVICES } from "./script_http_title.ts";

/** The `http-server-header` script; nothing when the server sends no `Server` header. */
export function httpServerHeaderScript(): ScriptPlugin {
  return {
    name: "http-server-header",
    description: "The `Server` header of the answer to `GET /`",
    categories: ["version"],
    ports: HTTP_PORTS,
    services: HTTP_SERVICES,
    async run(conn): Promise<string | undefined> {
      const answer = await httpRequest(conn, { method: "HEAD" });
      const server = answer === undefined ? undefined : header(answer, "Server");
      return server === undefined || server === "" ? undefined : server;
    },
  };
}
