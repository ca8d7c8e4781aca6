/**
 * A service that completes the handshake and resets the connection at once,
 * as TCP wrappers, a load balancer with no backend or a server at its
 * connection limit do: accept(), then close() with SO_LINGER 0 (an RST, not a
 * FIN). Deno's own sockets cannot linger at zero, so this one speaks to libc
 * through FFI. Listens on `::` (IPv4 and IPv6) and prints "ready".
 *
 * ```sh
 * deno run --allow-ffi tests/lab/reset_server.ts --port 7070
 * ```
 *
 * @module
 */

const libc = Deno.dlopen("libc.so.6", {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept: { parameters: ["i32", "pointer", "pointer"], result: "i32", nonblocking: true },
  close: { parameters: ["i32"], result: "i32" },
});

const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_LINGER = 13;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;

function option(fd: number, level: number, name: number, value: Int32Array): void {
  const bytes = new Uint8Array(value.buffer);
  if (libc.symbols.setsockopt(fd, level, name, bytes, bytes.length) !== 0) {
    throw new Error(`setsockopt(${level}, ${name}) failed`);
  }
}

const flag = Deno.args.indexOf("--port");
const port = Number(Deno.args[flag + 1]);
if (flag < 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
  throw new RangeError(`Cannot parse port "${Deno.args[flag + 1]}": value must be 1-65535`);
}
const fd = libc.symbols.socket(AF_INET6, SOCK_STREAM, 0);
if (fd < 0) throw new Error("socket() failed");
option(fd, SOL_SOCKET, SO_REUSEADDR, new Int32Array([1]));
option(fd, IPPROTO_IPV6, IPV6_V6ONLY, new Int32Array([0]));
// sockaddr_in6 for [::]:port.
const address = new Uint8Array(28);
address[0] = AF_INET6;
address[2] = port >> 8;
address[3] = port & 0xff;
if (libc.symbols.bind(fd, address, address.length) !== 0) throw new Error(`bind(${port}) failed`);
if (libc.symbols.listen(fd, 1024) !== 0) throw new Error("listen() failed");
console.log("ready");
const lingerZero = new Int32Array([1, 0]);
// Bounded like every loop of the lab: the lab kills this process when it stops.
for (let served = 0; served < 10_000_000; served++) {
  const conn = await libc.symbols.accept(fd, null, null);
  if (conn < 0) continue;
  option(conn, SOL_SOCKET, SO_LINGER, lingerZero);
  libc.symbols.close(conn);
}
