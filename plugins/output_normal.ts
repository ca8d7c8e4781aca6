/**
 * `-oN`: nmap-like normal output, as the terminal shows it but without colour.
 *
 * @module
 */

import { escapeTerminal, tableChunks } from "../src/output/table.ts";
import type { ScanReport } from "../src/output/report.ts";
import { commandArgs } from "../src/plugins/format.ts";
import type { OutputPlugin } from "../src/plugins/types.ts";

/** Options of {@link normalOutput}. */
export interface NormalOutputOptions {
  /** Show the REASON column. Default true. */
  reason?: boolean;
  /** Also list hosts that are down or unknown. */
  verbose?: boolean;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** nmap's date form, local time: "Wed Nov 26 16:15:00 2025". */
export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return escapeTerminal(iso);
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} ` +
    `${date.getFullYear()}`;
}

function quoteArg(arg: string): string {
  const safe = escapeTerminal(arg);
  return /^[\w@%+=:,./-]+$/.test(safe) ? safe : `'${safe.replaceAll("'", "'\\''")}'`;
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** The first line of the file. */
export function normalHeader(report: ScanReport): string {
  const command = commandArgs(report.args).map(quoteArg).join(" ");
  return `# portolan ${escapeTerminal(report.version)} scan initiated ` +
    `${formatDate(report.start)} as: ${command}\n`;
}

/** The last line(s) of the file. */
export function normalFooter(report: ScanReport, interrupted: boolean): string {
  const stats = report.stats;
  const note = interrupted ? "# Scan interrupted: results are partial.\n" : "";
  return `${note}# portolan done at ${formatDate(report.end)} -- ` +
    `${plural(stats.hostsTotal, "IP address", "IP addresses")} ` +
    `(${plural(stats.hostsUp, "host up", "hosts up")}) ` +
    `scanned in ${stats.seconds.toFixed(2)} seconds\n`;
}

/**
 * The normal output: a header when the scan starts, then the report table
 * and a footer when it ends.
 *
 * @example
 * ```ts
 * import { normalOutput } from "./output_normal.ts";
 * const plugin = normalOutput();
 * console.log(plugin.name); // "normal"
 * ```
 */
export function normalOutput(options: NormalOutputOptions = {}): OutputPlugin {
  const tableOptions = {
    color: false,
    reason: options.reason ?? true,
    verbose: options.verbose ?? false,
    summary: false,
  };
  return {
    name: "normal",
    description: "nmap-like text report (-oN)",
    events: ["start", "end"],
    async write(events, out): Promise<void> {
      let headerWritten = false;
      for await (const event of events) {
        if (event.type === "start") {
          await out.write(normalHeader(event.report));
          headerWritten = true;
        } else if (event.type === "end") {
          if (!headerWritten) await out.write(normalHeader(event.report));
          // Host by host: a large report is never one string.
          let empty = true;
          for (const chunk of tableChunks(event.report, tableOptions)) {
            await out.write(chunk);
            empty &&= chunk === "";
          }
          await out.write((empty ? "" : "\n") + normalFooter(event.report, event.interrupted));
        }
      }
    },
  };
}
