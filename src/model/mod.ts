/**
 * The model: the result types every folder shares (a port's and a host's
 * verdict, the service found on a port, the whole report) and the words
 * they use. It imports nothing from the rest of `src/`, so engines,
 * outputs, plugins and the store can all depend on it.
 *
 * @module
 */

export {
  HOST_STATES,
  isHostState,
  isPortState,
  isProtocol,
  PORT_STATES,
  PROTOCOLS,
  SILENT_REASONS,
} from "./states.ts";
export type { HostState, PortState, Protocol } from "./states.ts";
export type { HostResult, PortResult } from "./result.ts";
export { comparePorts, isSilent } from "./result.ts";
export { SERVICE_TEXT_FIELDS, serviceFromJson } from "./service.ts";
export type {
  CertificateInfo,
  HttpDetails,
  ServiceMatch,
  ServiceMethod,
  ServiceTextField,
  TlsDetails,
} from "./service.ts";
export type { ExtraPorts, HostReport, ScanInfo, ScanReport, ScanStats } from "./report.ts";
