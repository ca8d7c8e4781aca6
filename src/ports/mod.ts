/**
 * Port lists: nmap's `-p` syntax, `--exclude-ports`, `--top-ports` and the
 * compact range form used in reports.
 *
 * @module
 */

export { excludePorts, formatPortRanges, MAX_PORT, parsePorts } from "./parse.ts";
export type { ParsePortsOptions, PortSpec } from "./parse.ts";
export {
  DEFAULT_PORT_COUNT,
  FAST_SCAN_PORT_COUNT,
  topPorts,
  topPortsAvailable,
} from "./top_ports.ts";
export { TLS_PORTS } from "./tls_ports.ts";
