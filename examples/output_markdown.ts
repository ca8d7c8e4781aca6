/**
 * An example user plugin: the scan as a Markdown document, one table per
 * host. Load it with
 *
 * ```sh
 * deno task scan --plugin examples/output_markdown.ts --output markdown:scan.md 127.0.0.1
 * ```
 *
 * It shows the whole contract: a factory returning
 * `{ name, description, write }`, listed in `export default [...]`; `write`
 * reads the events of one scan and writes through `out`. The factory takes
 * options with defaults (`withOptions`), which the command line can set:
 * `--output "markdown:scan.md?title=Lab scan&openOnly=true"`. See PLUGINS.md.
 *
 * @module
 */

import {
  commandArgs,
  defineOutput,
  escapeControls,
  type HostReport,
  nmapPortLayout,
  type ScanEvent,
  type ScanReport,
  serviceText,
  versionLine,
  withOptions,
} from "../src/plugin/mod.ts";

/** Options of {@link markdownOutput} and {@link toMarkdown}. */
export interface MarkdownOptions {
  /** The document's title. Default "portolan scan report". */
  title?: string;
  /** List open ports only (the others are still counted). Default false. */
  openOnly?: boolean;
}

/** The document's title when none is given. */
const DEFAULT_TITLE = "portolan scan report";

/**
 * Text safe in a Markdown table cell or heading: controls made visible, and
 * every character Markdown reads as inline syntax backslash-escaped (`&`, `<` and `>`
 * as entities), so a banner can neither break the table nor add a link or markup.
 */
export function markdownText(text: string): string {
  return escapeControls(text)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replace(/[\\`*_[\]|~]/g, (char) => `\\${char}`);
}

function hostSection(host: HostReport, options: MarkdownOptions): string {
  const name = host.hostnames[0];
  const title = name === undefined
    ? markdownText(host.address)
    : `${markdownText(host.address)} (${markdownText(name)})`;
  const lines = [`## ${title}`, "", `State: ${host.state} (${markdownText(host.reason)}).`];
  if (host.state === "down") return lines.join("\n") + "\n";
  const layout = nmapPortLayout(host);
  if (layout.extraports.length > 0) {
    const hidden = layout.extraports.map((group) => `${group.count} ${group.state}`);
    lines.push(`Not shown: ${hidden.join(", ")}.`);
  }
  const listed = options.openOnly === true
    ? layout.ports.filter((port) => port.state === "open")
    : layout.ports;
  const dropped = layout.ports.length - listed.length;
  if (dropped > 0) lines.push(`Not listed: ${dropped} not open.`);
  if (listed.length > 0) {
    lines.push("", "| Port | State | Service | Version | Reason |", "|---:|---|---|---|---|");
    for (const port of listed) {
      const service = serviceText(port.service, "name") ?? "";
      lines.push(
        `| ${port.port}/${port.protocol} | ${port.state} | ${markdownText(service)} | ` +
          `${markdownText(versionLine(port.service))} | ${markdownText(port.reason)} |`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** The whole report as Markdown. */
export function toMarkdown(report: ScanReport, options: MarkdownOptions = {}): string {
  const stats = report.stats;
  const command = commandArgs(report.args).join(" ").replaceAll("`", "'");
  const head = [
    `# ${markdownText(options.title ?? DEFAULT_TITLE)}`,
    "",
    `- Started: ${report.start}`,
    `- Command: \`${escapeControls(command)}\``,
    `- Hosts: ${stats.hostsUp} up of ${stats.hostsTotal}, scanned in ${stats.seconds.toFixed(2)} s`,
    "",
  ].join("\n");
  return head + report.hosts.map((host) => "\n" + hostSection(host, options)).join("");
}

/**
 * The Markdown output plugin's factory. Its options and their defaults are
 * what the command line may set (`?title=…&openOnly=true`); a value given
 * there is converted to its default's type.
 *
 * @example
 * ```ts
 * import { markdownOutput } from "./output_markdown.ts";
 * console.log(markdownOutput().name); // "markdown"
 * console.log(markdownOutput.defaults.title); // "portolan scan report"
 * ```
 */
export const markdownOutput = withOptions(
  { title: DEFAULT_TITLE, openOnly: false },
  (options) =>
    defineOutput({
      name: "markdown",
      description: "the scan as Markdown, one table per host (example plugin)",
      async write(events: AsyncIterable<ScanEvent>, out): Promise<void> {
        let open = 0;
        for await (const event of events) {
          // Events arrive as the scan runs; a plugin may keep state between them.
          if (event.type === "port" && event.result.state === "open") open++;
          if (event.type === "end") {
            const note = event.interrupted
              ? "\n> The scan was interrupted: results are partial.\n"
              : "";
            await out.write(toMarkdown(event.report, options) + note + `\n${open} open ports.\n`);
          }
        }
      },
    }),
);

/** What this module registers: `--plugin examples/output_markdown.ts` loads these. */
export default [markdownOutput];
