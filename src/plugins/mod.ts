/**
 * The plugin API: the interfaces a plugin implements, the loader that reads
 * user plugins from disk, and helpers that make network text safe in any
 * output format. See PLUGINS.md for a walk-through.
 *
 * @module
 */

export type { OutputPlugin, OutputWriter, ScanEvent } from "./types.ts";
export type {
  HttpDetails,
  ProbeConn,
  ProbePlugin,
  ProbeProtocol,
  ReadOptions,
  ServiceMatch,
  StartTlsOptions,
  TlsDetails,
} from "./probe_types.ts";
export {
  loadOutputPlugins,
  loadPlugins,
  mergeOutputPlugins,
  outputPluginProblem,
} from "./loader.ts";
export type { LoadedOutputPlugin, LoadedPlugins, LoadedProbePlugin } from "./loader.ts";
export {
  addressType,
  commandArgs,
  csvCell,
  escapeControls,
  escapeHtml,
  escapeXml,
  groupPorts,
  nmapPortLayout,
  serviceText,
  versionLine,
} from "./format.ts";
export type { GroupedPorts, NmapPortLayout } from "./format.ts";
export { NMAP_SERVICES_PATH, parseServiceNames, readServiceNames } from "./service_names.ts";
export type { ServiceNames } from "./service_names.ts";
