/**
 * The words a report uses for protocols and states, as nmap uses them, each
 * with the one list readers check against.
 *
 * @module
 */

/** Transport protocol of a port. */
export type Protocol = "tcp" | "udp";

/** Every protocol a port can have. */
export const PROTOCOLS: readonly Protocol[] = Object.freeze(["tcp", "udp"]);

/** Whether `value` names a protocol. */
export function isProtocol(value: unknown): value is Protocol {
  return (PROTOCOLS as readonly unknown[]).includes(value);
}

/** Port states, named as nmap names them. */
export type PortState =
  | "open"
  | "closed"
  | "filtered"
  | "unfiltered"
  | "open|filtered"
  | "closed|filtered";

/** Every port state, in nmap's words: the one list readers of reports check against. */
export const PORT_STATES: readonly PortState[] = Object.freeze([
  "open",
  "closed",
  "filtered",
  "unfiltered",
  "open|filtered",
  "closed|filtered",
]);

/** Whether `value` names a port state. */
export function isPortState(value: unknown): value is PortState {
  return (PORT_STATES as readonly unknown[]).includes(value);
}

/** Host states in the JSON schema. */
export type HostState = "up" | "down" | "unknown";

/** Every host state. */
export const HOST_STATES: readonly HostState[] = Object.freeze(["up", "down", "unknown"]);

/** Whether `value` names a host state. */
export function isHostState(value: unknown): value is HostState {
  return (HOST_STATES as readonly unknown[]).includes(value);
}

/** Reasons that mean nothing came back from the host. */
export const SILENT_REASONS: ReadonlySet<string> = new Set([
  "",
  "no-response",
  "timeout",
  "host-timeout",
]);
