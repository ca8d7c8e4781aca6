/**
 * Plugin interfaces. A plugin is a factory returning one of these objects: a
 * name, what it applies to, and one async method. It receives what it needs
 * as arguments and keeps no global state.
 *
 * @module
 */

import type { HostResult, PortResult, ScanReport } from "../model/mod.ts";

/** What an output plugin is told, in order. */
export type ScanEvent =
  /** The scan begins; `report` has no hosts yet. */
  | { type: "start"; report: ScanReport }
  /** A host's discovery verdict. */
  | { type: "host"; host: HostResult }
  /** A port's final verdict, as soon as it is known. */
  | { type: "port"; result: PortResult }
  /** The scan ended (or was interrupted); `report` is complete. */
  | { type: "end"; report: ScanReport; interrupted: boolean };

/** Where an output plugin writes. */
export interface OutputWriter {
  /** Append text. Resolves once the text is handed to the file or terminal. */
  write(text: string): Promise<void>;
  /** Whether ANSI colour is wanted (a TTY without NO_COLOR). */
  readonly color: boolean;
}

/**
 * An output format.
 *
 * @example A minimal CSV-of-open-ports plugin
 * ```ts
 * import type { OutputPlugin } from "./types.ts";
 *
 * export function openCsv(): OutputPlugin {
 *   return {
 *     name: "open-csv",
 *     description: "address,port of every open port",
 *     async write(events, out) {
 *       for await (const event of events) {
 *         if (event.type === "port" && event.result.state === "open") {
 *           await out.write(`${event.result.address},${event.result.port}\n`);
 *         }
 *       }
 *     },
 *   };
 * }
 * ```
 */
export interface OutputPlugin {
  /** Name used on the command line (`--output NAME:FILE`). */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  /**
   * The event types the plugin reads; the others are never queued for it.
   * Default: all. A whole-document output says `["start", "end"]` and costs
   * nothing per port however large the scan.
   */
  readonly events?: readonly ScanEvent["type"][];
  /** Consume the events of one scan and write them; resolves after the "end" event. */
  write(events: AsyncIterable<ScanEvent>, out: OutputWriter): Promise<void>;
}
