/**
 * `--output csv:FILE`: one RFC 4180 row per listed port, safe to open in a
 * spreadsheet (no cell is ever evaluated as a formula).
 *
 * @module
 */

import {
  csvCell,
  type OutputPlugin,
  type ScanReport,
  serviceLabel,
  serviceText,
} from "../src/plugin/mod.ts";

/** The header row's columns. */
export const CSV_COLUMNS: readonly string[] = [
  "address",
  "hostname",
  "protocol",
  "port",
  "state",
  "reason",
  "service",
  "product",
  "version",
];

/** The report as CSV: a header, then every listed port of every host, CRLF line ends. */
export function toCsv(report: ScanReport): string {
  const rows = [CSV_COLUMNS.join(",")];
  for (const host of report.hosts) {
    const hostname = host.hostnames.join(" ");
    for (const port of host.ports) {
      rows.push([
        csvCell(host.address),
        csvCell(hostname),
        csvCell(port.protocol),
        csvCell(port.port),
        csvCell(port.state),
        csvCell(port.reason),
        csvCell(serviceLabel(port.service)),
        csvCell(serviceText(port.service, "product")),
        csvCell(serviceText(port.service, "version")),
      ].join(","));
    }
  }
  return rows.join("\r\n") + "\r\n";
}

/**
 * The CSV output, written when the scan ends.
 *
 * @example
 * ```ts
 * import { csvOutput } from "./output_csv.ts";
 * console.log(csvOutput().name); // "csv"
 * ```
 */
export function csvOutput(): OutputPlugin {
  return {
    name: "csv",
    description: "one CSV row per listed port (address,hostname,protocol,port,…)",
    events: ["start", "end"],
    async write(events, out): Promise<void> {
      for await (const event of events) {
        if (event.type === "end") await out.write(toCsv(event.report));
      }
    },
  };
}
