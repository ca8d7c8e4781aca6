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
  type HistoryDb,
  listScans,
  loadComparison,
  openHistory,
} from "../store/mod.ts";
import type { CliIo } from "./run.ts";
import { UsageError } from "./usage_error.ts";
import { userDirectory, userPath } from "./user_paths.ts";

const encoder = new TextEncoder();

/** Usage of the subcommands. */
export const SUBCOMMAND_HELP: Record<"history" | "diff", string> = {
  history: "Usage: portolan history [--db FILE] [--limit N] [--json]\n" +
    "List the scans recorded in the history database, newest first.\n",
  diff: "Usage: portolan diff [A] [B] [--db FILE | --no-db] [--json]\n" +
    "What changed between two scans: by default the last two finished scans of the\n" +
    "same targets; A and B may be scan ids (12 or #12) or -oJ / -oX files.\n",
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
    const rows = [["ID", "START", "SECONDS", "UP", "OPEN", "TARGETS", "STATE"]];
    for (const scan of scans) {
      const seconds = scan.end === ""
        ? ""
        : ((Date.parse(scan.end) - Date.parse(scan.start)) / 1000).toFixed(1);
      rows.push([
        String(scan.id),
        scan.start.replace("T", " ").slice(0, 19),
        seconds,
        String(scan.hostsUp),
        String(scan.openPorts),
        scan.targets.length > 40 ? scan.targets.slice(0, 39) + "…" : scan.targets,
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
  const db = options.noDb ? undefined : open(options, io);
  try {
    const { a, b, labels } = await loadComparison(db, options.operands);
    const diff = diffReports(a, b, { labels });
    const color = io.stdoutIsTerminal && io.env("NO_COLOR") === undefined;
    const text = options.json ? diffToJson(diff) : formatDiff(diff, { color });
    await io.stdout(encoder.encode(text.endsWith("\n") ? text : text + "\n"));
    return 0;
  } finally {
    db?.close();
  }
}
