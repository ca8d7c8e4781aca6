/**
 * Mutation fuzzing of the two files portolan reads back: resume states and
 * report files. Valid ones are damaged a little (a field replaced, removed,
 * duplicated, a number pushed out of range, text cut or spliced), not only
 * replaced by random bytes, so that the mutants get deep into the readers.
 * A reader must refuse a mutant with its one-line SyntaxError or accept it;
 * what it accepts must be usable by everything downstream without throwing.
 */
// deno-lint-ignore no-import-prefix -- test-only: not in deno.json, so the scanner never fetches it
import fc from "npm:fast-check@4.11.0";
import { toJson } from "../../plugins/output_json.ts";
import { xmlOutput } from "../../plugins/output_xml.ts";
import { runPlugin, sampleScan } from "../../plugins/output_fixtures.ts";
import { renderTable } from "../output/table.ts";
import { rawUnsafe } from "../plugin/format.ts";
import { diffReports, diffToJson, formatDiff } from "../store/diff.ts";
import { parseReportText } from "../store/report_file.ts";
import { check, type Loose, validState } from "./resume_fixtures.ts";
import { fuzzBudget } from "../testing/fuzz.ts";

const CASES = 20_000;
/** Fewer: each report case parses and diffs a report with 100 KB hostile banners. */
const REPORT_CASES = 2_000;

/** Every path to a value inside `value`, the root included. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(value)) value.forEach((item, i) => out.push(...paths(item, [...prefix, i])));
  else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) out.push(...paths(item, [...prefix, key]));
  }
  return out;
}

type Edit = "replace" | "delete" | "duplicate" | "numeric";

/** `base` with the value at path number `pick` edited. */
function mutate(base: unknown, pick: number, edit: Edit, value: unknown): Loose {
  const copy: Loose = structuredClone(base);
  const all = paths(copy);
  const path = all[pick % all.length]!;
  if (path.length === 0) return edit === "replace" ? value : copy;
  let parent: Loose = copy;
  for (const key of path.slice(0, -1)) parent = parent[key];
  const key = path.at(-1)!;
  const old = parent[key];
  if (edit === "delete") {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else if (edit === "duplicate" && Array.isArray(parent)) {
    parent.splice(Number(key), 0, structuredClone(old));
  } else if (edit === "numeric" && typeof old === "number") {
    const tweaks = [
      old + 1,
      old - 1,
      -old,
      old * 1e300,
      1e300,
      -1,
      0.5,
      Number.MAX_SAFE_INTEGER + 2,
    ];
    // Any JSON value picks a tweak (Number() of an object whose toString is not a function throws).
    const choice = typeof value === "number" ? value : JSON.stringify(value)?.length ?? 0;
    parent[key] = tweaks[Math.abs(Math.floor(choice || 0)) % tweaks.length];
  } else {
    parent[key] = value;
  }
  return copy;
}

const edits = fc.record({
  pick: fc.nat(),
  edit: fc.constantFrom<Edit>("replace", "delete", "duplicate", "numeric"),
  value: fc.jsonValue({ maxDepth: 3 }),
  times: fc.integer({ min: 1, max: 3 }),
});

Deno.test(`mutation fuzz: resume states are refused with one line or usable whole (${CASES} cases)`, () => {
  let accepted = 0;
  fc.assert(
    fc.property(edits, ({ pick, edit, value, times }) => {
      let state: Loose = validState();
      for (let i = 0; i < times; i++) state = mutate(state, pick + i * 7919, edit, value);
      let checked;
      try {
        checked = check(JSON.parse(JSON.stringify(state)));
      } catch (error) {
        if (!(error instanceof SyntaxError) || /\n/.test(error.message)) throw error;
        return;
      }
      accepted++;
      // What was accepted is what a resumed scan uses: none of it may throw.
      new Date(checked.report.start).toISOString();
      BigInt(checked.seed);
      renderTable(checked.report, { color: false, reason: true, verbose: true });
      toJson(checked.report);
    }),
    fuzzBudget(CASES, 20261203),
  );
  console.log(`mutation fuzz: resume ${CASES} cases, 0 crashes (${accepted} accepted)`);
});

/** Text-level damage of a report file: cut, splice, repeat, insert. */
function damageText(text: string, at: number, length: number, insert: string, how: number): string {
  const i = at % (text.length + 1);
  const j = Math.min(text.length, i + length);
  switch (how % 4) {
    case 0:
      return text.slice(0, i);
    case 1:
      return text.slice(0, i) + text.slice(j);
    case 2:
      return text.slice(0, j) + text.slice(i, j) + text.slice(i);
    default:
      return text.slice(0, i) + insert + text.slice(i);
  }
}

Deno.test(`mutation fuzz: report files are refused with one line or diff cleanly (${REPORT_CASES} cases)`, async () => {
  const scan = sampleScan({ hostile: true });
  const json = toJson(scan.report);
  const xml = await runPlugin(xmlOutput(), scan.events);
  const parsedJson = JSON.parse(json);
  const nasty = fc.constantFrom(
    "<",
    ">",
    "</host>",
    "<host>",
    "&#27;",
    "&#x9b;",
    '"',
    "\x1b[2J",
    "]]>",
  );
  let accepted = 0;
  fc.assert(
    fc.property(
      fc.boolean(),
      edits,
      fc.nat(),
      fc.nat({ max: 200 }),
      fc.oneof(nasty, fc.string({ maxLength: 20 })),
      fc.nat(),
      (asJson, mutation, at, length, insert, how) => {
        const text = asJson && how % 2 === 0
          ? JSON.stringify(mutate(parsedJson, mutation.pick, mutation.edit, mutation.value))
          : damageText(asJson ? json : xml, at, length, insert, how >> 1);
        let report;
        try {
          report = parseReportText(text, "fuzz");
        } catch (error) {
          if (!(error instanceof SyntaxError) || /\n/.test(error.message)) throw error;
          return;
        }
        accepted++;
        const diff = diffReports(scan.report, report);
        for (const out of [formatDiff(diff), diffToJson(diff)]) {
          if (rawUnsafe(out).length > 0) throw new Error(`raw ${rawUnsafe(out)} in diff output`);
        }
      },
    ),
    fuzzBudget(REPORT_CASES, 20261203),
  );
  console.log(
    `mutation fuzz: report files ${REPORT_CASES} cases, 0 crashes (${accepted} accepted)`,
  );
});
