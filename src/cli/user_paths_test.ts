import assert from "node:assert/strict";
import { parseArgs } from "./args.ts";
import { validateResumeState } from "./resume.ts";
import { validState } from "./resume_fixtures.ts";
import { resolveUserPaths, userDirectory, userPath } from "./user_paths.ts";

Deno.test("userDirectory: INIT_CWD when absolute, else the working directory", () => {
  const env = (value: string | undefined) => (name: string): string | undefined =>
    name === "INIT_CWD" ? value : undefined;
  assert.equal(userDirectory(env("/home/u/work"), () => "/repo"), "/home/u/work");
  assert.equal(userDirectory(env("relative"), () => "/repo"), "/repo");
  assert.equal(userDirectory(env(undefined), () => "/repo"), "/repo");
  assert.equal(userDirectory(env(undefined), () => undefined), undefined);
});

Deno.test("resolveUserPaths: every path option, from the user's folder; - and absolute kept", () => {
  const options = resolveUserPaths(
    parseArgs([
      "-oN",
      "a.txt",
      "-oJ",
      "-",
      "-oX",
      "/abs/x.xml",
      "-oA",
      "sub/all",
      "--output",
      "csv:../c.csv",
      "-iL",
      "t.txt",
      "--excludefile",
      "e.txt",
      "--plugin",
      "p.ts",
      "--db",
      "h.db",
      "--resume-file",
      "r.json",
      "host.example",
    ]),
    "/home/u/work",
  );
  assert.deepEqual(options.outputs.map((output) => output.path), [
    "/home/u/work/a.txt",
    "-",
    "/abs/x.xml",
    "/home/u/work/sub/all.nmap",
    "/home/u/work/sub/all.xml",
    "/home/u/work/sub/all.gnmap",
    "/home/u/work/sub/all.json",
    "/home/u/c.csv",
  ]);
  assert.equal(options.inputList, "/home/u/work/t.txt");
  assert.equal(options.excludeFile, "/home/u/work/e.txt");
  assert.deepEqual(options.plugins, ["/home/u/work/p.ts"]);
  assert.equal(options.db, "/home/u/work/h.db");
  assert.equal(options.resumeFile, "/home/u/work/r.json");
  assert.deepEqual(options.targets, ["host.example"]);
  assert.equal(userPath("-", "/x"), "-");
  assert.equal(resolveUserPaths(parseArgs(["-iL", "-"]), "/x").inputList, "-");
});

Deno.test("a resume state's cwd must be an absolute path", () => {
  const state = { ...validState(), cwd: "/home/u/work" };
  assert.equal(validateResumeState(state, "r.json").cwd, "/home/u/work");
  for (const cwd of ["relative/dir", 7, ""]) {
    assert.throws(
      () => validateResumeState({ ...validState(), cwd }, "r.json"),
      /damaged \(cwd is not an absolute path\)/,
    );
  }
});
