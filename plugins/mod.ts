/**
 * The built-in plugins.
 *
 * @module
 */

import type { OutputPlugin } from "../src/plugins/types.ts";
import { csvOutput } from "./output_csv.ts";
import { grepableOutput } from "./output_grepable.ts";
import { htmlOutput } from "./output_html.ts";
import { jsonOutput } from "./output_json.ts";
import { jsonlOutput } from "./output_jsonl.ts";
import { normalOutput } from "./output_normal.ts";
import { xmlOutput } from "./output_xml.ts";

export { CSV_COLUMNS, csvOutput, toCsv } from "./output_csv.ts";
export { grepableFooter, grepableHeader, grepableHost, grepableOutput } from "./output_grepable.ts";
export type { GrepableOptions } from "./output_grepable.ts";
export { htmlOutput, toHtml } from "./output_html.ts";
export type { HtmlLimits } from "./output_html.ts";
export { jsonOutput, toJson } from "./output_json.ts";
export type { JsonPort } from "./output_json.ts";
export { jsonlLine, jsonlOutput } from "./output_jsonl.ts";
export { normalOutput } from "./output_normal.ts";
export type { NormalOutputOptions } from "./output_normal.ts";
export { toXml, xmlFooter, xmlHeader, xmlHost, xmlOutput } from "./output_xml.ts";
export type { XmlOptions } from "./output_xml.ts";

/** Built-in output plugins by the name used on the command line. */
export const outputPlugins: Record<string, () => OutputPlugin> = {
  csv: csvOutput,
  grepable: (): OutputPlugin => grepableOutput(),
  html: (): OutputPlugin => htmlOutput(),
  json: jsonOutput,
  jsonl: jsonlOutput,
  normal: (): OutputPlugin => normalOutput(),
  xml: (): OutputPlugin => xmlOutput(),
};
