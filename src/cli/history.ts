/**
 * `portolan history` and `portolan diff`: what the scan history holds, and
 * what changed between two scans (or two -oJ / -oX files).
 *
 * @module
 */

import {
  defaultDbPath,
  diffReports,
  diffToJson,
  formatDiff,
  hasChanges,
  type HistoryDb,
  listScans,
  loadComparison,
  openHistory,
  type ScanDiff,
} from "../store/mod.ts";
import { escapeControls } from "../plugin/format.ts";
import type { CliIo } from "./io.ts";
import { UsageError } from "./usage_error.ts";
import { userDirectory, userPath } from "./user_paths.ts";

const encoder = new TextEncoder();

/** Usage of the subcommands. */
export const SUBCOMMAND_HELP: Record<"history" | "diff", string> = {
  history: "Usage: portolan history [--db FILE] [--limit N] [--json]\n" +
    "List the scans recorded in the history database, newest first.\n",
  diff: "Usage: portolan diff [A] [B] [--db FILE | --no-db] [--json]\n" +
    "What changed between two scans: by default the last two finished scans of the\n" +
    "same targets; A and B may be scan ids (12 or #12) or -oJ / -oX files.\n" +
    "Exit status: 0 no change, 1 changes, 2 trouble (as diff and ndiff). Ports that\n" +
    "only one scan covered are shown with ? (not scanned before/now), not as changes.\n",
};

/** Flags the two subcommands share. */
interface SubOptions {
  help: boolean;
  db?: string;
  noDb: boolean;
  json: boolean;
  limit: number;
  operands: string[];
}

function parseSubArgs(command: string, args: readonly string[]): SubOptions {
  const options: SubOptions = { help: false, noDb: false, json: false, limit: 20, operands: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [name, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = (): string => {
      const next = inline ?? args[++i];
      if (next === undefined || next === "") throw new UsageError(`Option ${name} needs a value`);
      return next;
    };
    if (name === "--db") options.db = value();
    else if (name === "--no-db") options.noDb = true;
    else if (name === "--json") options.json = true;
    else if (name === "--limit" && command === "history") {
      const text = value();
      if (!/^\d+$/.test(text) || Number(text) < 1) {
        throw new UsageError(`Cannot use --limit ${text}: value must be a positive integer`);
      }
      options.limit = Number(text);
    } else if (name === "-h" || name === "--help") options.help = true;
    else if (name.startsWith("-") && name !== "-") {
      throw new UsageError(`Unknown option "${arg}" for "portolan ${command}" (see --help)`);
    } else options.operands.push(arg);
  }
  return options;
}

/** At most `width` characters, an ellipsis marking the cut. */
function clip(text: string, width: number): string {
  return text.length > width ? text.slice(0, width - 1) + "…" : text;
}

function open(options: SubOptions, io: CliIo): HistoryDb {
  const db = options.db === undefined ? undefined : userPath(options.db, base(io));
  return openHistory(db ?? defaultDbPath((name) => io.env(name)));
}

/** Where the user stood: a relative --db is taken from there. */
function base(io: CliIo): string | undefined {
  return userDirectory((name) => io.env(name), () => io.cwd?.());
}

/** `portolan history`: the recorded scans, newest first. */
export async function runHistory(args: readonly string[], io: CliIo): Promise<number> {
  const options = parseSubArgs("history", args);
  if (options.help) {
    await io.stdout(encoder.encode(SUBCOMMAND_HELP.history));
    return 0;
  }
  if (options.operands.length > 0) {
    throw new UsageError(`Unexpected argument "${options.operands[0]}" for "portolan history"`);
  }
  const db = open(options, io);
  try {
    const scans = listScans(db, { limit: options.limit });
    if (options.json) {
      await io.stdout(encoder.encode(JSON.stringify(scans, null, 2) + "\n"));
      return 0;
    }
    const rows = [["ID", "START", "SECONDS", "TYPE", "PORTS", "UP", "OPEN", "TARGETS", "STATE"]];
    for (const scan of scans) {
      const seconds = scan.end === ""
        ? ""
        : ((Date.parse(scan.end) - Date.parse(scan.start)) / 1000).toFixed(1);
      rows.push([
        String(scan.id),
        scan.start.replace("T", " ").slice(0, 19),
        seconds,
        scan.types.join("+") || "-",
        clip(scan.ports === "" ? "-" : `${scan.ports} (${scan.portCount})`, 32),
        String(scan.hostsUp),
        String(scan.openPorts),
        clip(escapeControls(scan.targets), 40),
        scan.interrupted ? "interrupted" : scan.finished ? "done" : "unfinished",
      ]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
    const text = rows.map((row) =>
      row.map((cell, c) => c === row.length - 1 ? cell : cell.padEnd(widths[c]! + 2)).join("")
    ).join("\n");
    await io.stdout(encoder.encode(scans.length === 0 ? "No scans recorded yet.\n" : text + "\n"));
    return 0;
  } finally {
    db.close();
  }
}

/** `portolan diff [A] [B]`: what changed between two scans or report files. */
export async function runDiff(args: readonly string[], io: CliIo): Promise<number> {
  const options = parseSubArgs("diff", args);
  if (options.help) {
    await io.stdout(encoder.encode(SUBCOMMAND_HELP.diff));
    return 0;
  }
  let db: HistoryDb | undefined;
  let diff: ScanDiff;
  try {
    db = options.noDb ? undefined : open(options, io);
    const where = base(io);
    const { a, b, labels } = await loadComparison(db, options.operands, {
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      ...(where === undefined ? {} : { base: where }),
    });
    diff = diffReports(a, b, { labels });
  } catch (error) {
    // As diff and ndiff: 2 for trouble, in one line; 130 when SIGINT ended a read.
    const text = error instanceof Error ? error.message : String(error);
    io.stderr(`portolan: ${escapeControls(text.trim().replace(/\s*\n\s*/g, " "))}\n`);
    return io.signal?.aborted === true ? 130 : 2;
  } finally {
    db?.close();
  }
  const color = io.stdoutIsTerminal && io.env("NO_COLOR") === undefined;
  const text = options.json ? diffToJson(diff) : formatDiff(diff, { color });
  await io.stdout(encoder.encode(text.endsWith("\n") ? text : text + "\n"));
  return hasChanges(diff) ? 1 : 0;
}
