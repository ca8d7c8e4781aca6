/**
 * One HTTP/1.1 request over a script's connection, for the `http-*` scripts.
 *
 * @module
 */

import type { ProbeConn } from "../src/plugin/mod.ts";

/** Bytes of an answer read at most. */
const ANSWER_BYTES = 65_536;

/** An HTTP answer: status line, headers in order, body (Latin-1). */
export interface HttpAnswer {
  status: number;
  headers: [string, string][];
  body: string;
}

/** The first value of header `name` (any case), or undefined. */
export function header(answer: HttpAnswer, name: string): string | undefined {
  const lower = name.toLowerCase();
  return answer.headers.find(([key]) => key.toLowerCase() === lower)?.[1];
}

/** An answer's text split into status, headers and body; undefined when it is not HTTP. */
export function parseAnswer(text: string): HttpAnswer | undefined {
  const status = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(text);
  if (status === null) return undefined;
  const split = text.search(/\r?\n\r?\n/);
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? "" : text.slice(split).replace(/^\r?\n\r?\n/, "");
  const headers: [string, string][] = [];
  for (const line of head.split(/\r?\n/).slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return { status: Number(status[1]), headers, body };
}

/** The Host header for an address or name (IPv6 in brackets), with a port other than the default. */
function hostHeader(address: string, port: number, tls: boolean): string {
  const host = address.includes(":") ? `[${address}]` : address;
  return port === (tls ? 443 : 80) ? host : `${host}:${port}`;
}

/** Send `METHOD path` and read the answer until the server closes, up to 64 KiB. */
export async function httpRequest(
  conn: ProbeConn,
  options: { method?: string; path?: string } = {},
): Promise<HttpAnswer | undefined> {
  const method = options.method ?? "GET";
  await conn.write(
    `${method} ${options.path ?? "/"} HTTP/1.1\r\n` +
      `Host: ${hostHeader(conn.address, conn.port, conn.tls !== undefined)}\r\n` +
      "User-Agent: portolan\r\nAccept: */*\r\nConnection: close\r\n\r\n",
  );
  let text = "";
  while (text.length < ANSWER_BYTES) {
    const more = await conn.readText({ maxBytes: ANSWER_BYTES - text.length, idleMs: 1000 });
    if (more === "") break;
    text += more;
    // A HEAD answer ends with its headers; the server may keep the socket a while.
    if (method === "HEAD" && /\r?\n\r?\n/.test(text)) break;
    if (conn.closed) break;
  }
  return parseAnswer(text);
}
