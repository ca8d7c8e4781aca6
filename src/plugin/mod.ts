/**
 * The plugin SDK: everything a plugin author imports, from one module
 * (`@portolan/portolan/plugin`, or `src/plugin/mod.ts` in a checkout).
 * Three kinds of plugin, each a factory that returns a typed object with a
 * name, what it applies to, and one async method:
 *
 * - an **output** renders the scan's events (`--output NAME:FILE`);
 * - a **probe** names the service on an open port (`-sV`);
 * - a **script** adds lines under a port after detection (`-sC`, `--script`).
 *
 * `defineOutput`, `defineProbe` and `defineScript` fill in the metadata a
 * plugin leaves out with nmap's defaults (rarity 5, TCP, every port …), and
 * `withOptions` gives a factory lume-style options: defaults merged with
 * what the user passes.
 *
 * @example A Markdown output in a dozen lines
 * ```ts
 * import { defineOutput, withOptions } from "./mod.ts";
 *
 * export const markdown = withOptions({ title: "Scan" }, (options) =>
 *   defineOutput({
 *     name: "markdown",
 *     description: "a Markdown table of open ports",
 *     events: ["end"],
 *     async write(events, out) {
 *       for await (const event of events) {
 *         if (event.type !== "end") continue;
 *         await out.write(`# ${options.title}\n\n| host | port | state |\n|---|---|---|\n`);
 *         for (const host of event.report.hosts) {
 *           for (const port of host.ports) {
 *             await out.write(`| ${host.address} | ${port.port}/${port.protocol} | ${port.state} |\n`);
 *           }
 *         }
 *       }
 *     },
 *   }));
 *
 * const plugin = markdown({ title: "Lab" });
 * console.log(plugin.name); // "markdown"
 * ```
 *
 * @module
 */

import type { OutputPlugin } from "./types.ts";
import type { ProbePlugin, ProbeProtocol } from "./probe_types.ts";
import type { ScriptPlugin } from "./script_types.ts";

// The plugin kinds and what they are given.
export type { OutputPlugin, OutputWriter, ScanEvent } from "./types.ts";
export type {
  ProbeConn,
  ProbePlugin,
  ProbeProtocol,
  ReadOptions,
  StartTlsOptions,
} from "./probe_types.ts";
export type {
  ScriptConnectOptions,
  ScriptContext,
  ScriptOutput,
  ScriptPlugin,
  ScriptTarget,
} from "./script_types.ts";

export type { BuiltinPlugins } from "./builtins.ts";

// What a scan reports: the model (src/model/).
export type {
  CertificateInfo,
  ExtraPorts,
  HostReport,
  HostResult,
  HostState,
  HttpDetails,
  PortResult,
  PortState,
  Protocol,
  ScanInfo,
  ScanReport,
  ScanStats,
  ServiceMatch,
  ServiceMethod,
  TlsDetails,
} from "../model/mod.ts";
export { HOST_STATES, isHostState, isPortState, PORT_STATES } from "../model/mod.ts";

// Helpers for probes and scripts: bytes as text, CPEs, bounded fields.
export {
  BANNER_CHARS,
  bannerText,
  clip,
  concatBytes,
  cpe,
  FIELD_CHARS,
  firstLine,
  latin1,
  latin1Bytes,
} from "./text.ts";
export { TLS_PORTS } from "../ports/tls_ports.ts";

// Helpers for outputs: escaping, nmap's layouts, service names.
export {
  addressType,
  commandArgs,
  csvCell,
  escapeControls,
  escapeHtml,
  escapeXml,
  groupPorts,
  hostLatency,
  jsonText,
  nmapPortLayout,
  nmapView,
  rawUnsafe,
  reportFlags,
  serviceLabel,
  serviceText,
  significantSeconds,
  versionLine,
} from "./format.ts";
export type { GroupedPorts, NmapPortLayout, ReportFlags } from "./format.ts";
export { scriptTextLines } from "./script_format.ts";
export {
  macVendor,
  NMAP_MAC_PREFIXES_PATH,
  NMAP_SERVICES_PATH,
  parseMacVendors,
  parseServiceNames,
  readMacVendors,
  readServiceNames,
} from "./names.ts";
export type { MacVendors, ServiceNames } from "./names.ts";
export { escapeTerminal } from "./format.ts";
export { addressSortKey } from "../targets/sort_key.ts";

/** A plugin's object with some metadata left to the defaults. */
type WithDefaults<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

/** What {@link defineProbe} takes: a probe with nmap's defaults for what it leaves out. */
export type ProbeSpec = WithDefaults<
  ProbePlugin,
  "description" | "protocols" | "ports" | "rarity" | "passive"
>;

/**
 * A probe plugin, its metadata completed as nmap's service probes default
 * them: TCP, no preferred ports (tried on any open port), rarity 5, active.
 */
export function defineProbe(spec: ProbeSpec): ProbePlugin {
  return {
    ...spec,
    description: spec.description ?? spec.name,
    protocols: spec.protocols ?? (["tcp"] as readonly ProbeProtocol[]),
    ports: spec.ports ?? [],
    rarity: spec.rarity ?? 5,
    passive: spec.passive ?? false,
  };
}

/** What {@link defineOutput} takes: an output whose description may be left out. */
export type OutputSpec = WithDefaults<OutputPlugin, "description">;

/** An output plugin; without `events` it sees every event, as the bus delivers them. */
export function defineOutput(spec: OutputSpec): OutputPlugin {
  return { ...spec, description: spec.description ?? spec.name };
}

/** What {@link defineScript} takes: a script with defaults for what it leaves out. */
export type ScriptSpec = WithDefaults<
  ScriptPlugin,
  "description" | "categories" | "ports" | "services"
>;

/** A script plugin; by default in no category, matched by no port or service (name it with --script). */
export function defineScript(spec: ScriptSpec): ScriptPlugin {
  return {
    ...spec,
    description: spec.description ?? spec.name,
    categories: spec.categories ?? [],
    ports: spec.ports ?? [],
    services: spec.services ?? [],
  };
}

/** A value the command line can set (`--output NAME:FILE?key=value`). */
export type OptionValue = string | number | boolean;

/** A factory made by {@link withOptions}: it also carries its defaults, so the host knows its options. */
export type OptionsFactory<O extends Record<string, unknown>, P> =
  & ((options?: { [K in keyof O]?: O[K] | undefined }) => P)
  & { readonly defaults: Readonly<O> };

/**
 * A plugin factory with options, lume-style: `defaults` merged with what
 * the caller passes (a shallow merge; `undefined` keeps the default). The
 * factory carries `defaults`: an output's string, number and boolean
 * defaults are its options on the command line
 * (`--output NAME:FILE?key=value`), each value converted to its default's type.
 */
export function withOptions<O extends Record<string, unknown>, P>(
  defaults: O,
  make: (options: O) => P,
): OptionsFactory<O, P> {
  const factory = (options: { [K in keyof O]?: O[K] | undefined } = {}): P => {
    const merged: Record<string, unknown> = { ...defaults };
    for (const [key, value] of Object.entries(options)) {
      if (value !== undefined) merged[key] = value;
    }
    return make(merged as O);
  };
  // Named as `make` is (the loader names factories in its messages), not "factory".
  Object.defineProperty(factory, "name", { value: make.name });
  return Object.assign(factory, { defaults: Object.freeze({ ...defaults }) });
}
