/**
 * `struct sockaddr_in` / `sockaddr_in6` for the FFI engines.
 *
 * @module
 */

import type { Host } from "../../targets/types.ts";
import { AF_INET, AF_INET6 } from "../libc.ts";

/**
 * Write `host`:`port` into `buffer` (at least 28 bytes) as a sockaddr and
 * return its length. The family field is host order, port and address
 * network order.
 */
export function writeSockaddr(buffer: Uint8Array, host: Host, port: number): number {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  buffer.fill(0, 0, 28);
  if (host.family === 4) {
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port, false);
    view.setUint32(4, Number(host.value), false);
    return 16;
  }
  view.setUint16(0, AF_INET6, true);
  view.setUint16(2, port, false);
  let value = host.value;
  for (let i = 15; i >= 0; i--) {
    buffer[8 + i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return 28;
}
