/**
 * HTTP: `GET /` and the answer's status, `Server` header and title. nginx,
 * Apache, lighttpd, IIS, Caddy and generic servers; over TLS it is https.
 *
 * @module
 */

import {
  clip,
  cpe,
  type HttpDetails,
  latin1,
  type ProbePlugin,
  type ServiceMatch,
} from "../src/plugin/mod.ts";

/** Most of an HTTP answer looked at: headers and the start of the page. */
const ANSWER_BYTES = 16_384;

function header(head: string, name: string): string | undefined {
  const found = new RegExp(`^${name}:[ \\t]*([^\\r\\n]*)`, "im").exec(head);
  return found?.[1]?.trim();
}

/** The `<title>` of a page, whitespace collapsed. */
export function htmlTitle(body: string): string {
  const found = /<title[^>]*>([\s\S]*?)<\/title\s*>/i.exec(body);
  return found === null ? "" : clip((found[1] as string).replace(/\s+/g, " ").trim(), 256);
}

/** Product and version from a `Server` header. */
export function serverProduct(server: string): Partial<ServiceMatch> {
  const tokens: [RegExp, string, string | undefined][] = [
    [/^nginx(?:\/([\w.]+))?/i, "nginx", "a:igor_sysoev:nginx"],
    [/^Apache(?:\/([\w.]+))?/, "Apache httpd", "a:apache:http_server"],
    [/^lighttpd(?:\/([\w.]+))?/, "lighttpd", "a:lighttpd:lighttpd"],
    [
      /^Microsoft-IIS(?:\/([\w.]+))?/,
      "Microsoft IIS httpd",
      "a:microsoft:internet_information_services",
    ],
    [/^Caddy/, "Caddy httpd", undefined],
    [/^openresty(?:\/([\w.]+))?/, "OpenResty web app server", "a:openresty:openresty"],
    [/^Jetty\(([\w.-]+)\)/, "Jetty", "a:eclipse:jetty"],
    [/^gunicorn(?:\/([\w.]+))?/, "Gunicorn", "a:gunicorn:gunicorn"],
  ];
  for (const [pattern, product, part] of tokens) {
    const found = pattern.exec(server);
    if (found === null) continue;
    const version = found[1];
    const comment = /\(([^)]+)\)/.exec(server.slice(found[0].length))?.[1];
    return {
      product,
      ...(version === undefined ? {} : { version }),
      ...(comment === undefined || product === "Jetty" ? {} : { extraInfo: comment }),
      ...(part === undefined ? {} : { cpe: [cpe(part, version)] }),
    };
  }
  const generic = /^([A-Za-z][\w.-]*)(?:\/([\w.-]+))?/.exec(server);
  if (generic === null) return {};
  return { product: generic[1] as string, ...(generic[2] ? { version: generic[2] } : {}) };
}

/**
 * Parse an HTTP answer.
 *
 * @example
 * ```ts
 * import { parseHttpAnswer } from "./probe_http.ts";
 * const answer = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n<title>Hi</title>";
 * parseHttpAnswer(answer)?.http?.title; // "Hi"
 * ```
 */
export function parseHttpAnswer(text: string): ServiceMatch | undefined {
  const status = /^HTTP\/(\d)\.(\d) (\d{3})/.exec(text);
  if (status === null) return undefined;
  const split = text.search(/\r?\n\r?\n/);
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? "" : text.slice(split);
  const code = Number(status[3]);
  // A TLS port answering clear text: the TLS probe is the one to name it.
  if (
    code === 400 &&
    /plain HTTP request was sent to HTTPS port|speaking plain HTTP to an SSL/i.test(body)
  ) {
    return undefined;
  }
  const server = header(head, "Server") ?? "";
  const bodyText = new TextDecoder().decode(Uint8Array.from(body, (char) => char.charCodeAt(0)));
  const http: HttpDetails = { status: code, server: clip(server, 256), title: htmlTitle(bodyText) };
  return { name: "http", ...serverProduct(server), http };
}

/** The HTTP probe plugin. */
export function httpProbe(): ProbePlugin {
  return {
    name: "http",
    description: "HTTP GET /: status, Server header, title; nginx, Apache, lighttpd, IIS, others",
    protocols: ["tcp"],
    ports: [80, 81, 591, 3000, 5000, 8000, 8008, 8080, 8081, 8088, 8888, 9000],
    tlsPorts: [443, 1443, 4443, 6443, 8443, 9443],
    rarity: 1,
    passive: false,
    async probe(conn): Promise<ServiceMatch | undefined> {
      const host = conn.address.includes(":") ? `[${conn.address}]` : conn.address;
      const port = conn.port === (conn.tls ? 443 : 80) ? "" : `:${conn.port}`;
      await conn.write(
        `GET / HTTP/1.0\r\nHost: ${host}${port}\r\nUser-Agent: portolan\r\nAccept: */*\r\n\r\n`,
      );
      const answer = await conn.read({
        maxBytes: ANSWER_BYTES,
        // HTTP/1.0: the server closes after the answer; stop early once the title is in.
        until: (bytes) => /<\/title/i.test(latin1(bytes)),
        idleMs: 1000,
      });
      return parseHttpAnswer(latin1(answer));
    },
  };
}
