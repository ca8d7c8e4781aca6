import assert from "node:assert/strict";
import { HELP } from "../src/cli/help.ts";
import { portolan, ROOT } from "./helpers.ts";

/** Bad command lines: each exits 2 with one clear line naming the bad value, nothing scanned. */
const BAD: [string[], RegExp][] = [
  [["-p", "70000", "127.0.0.1"], /"70000".*<= 65535/],
  [["-p", "0-65536", "127.0.0.1"], /"0-65536".*<= 65535/],
  [["-p", "2000-1000", "127.0.0.1"], /"2000-1000"/],
  [["-p", "abc", "127.0.0.1"], /"abc"/],
  [["-p", "", "127.0.0.1"], /empty/],
  [["198.51.100.0/33"], /"198\.51\.100\.0\/33"/],
  [["300.1.2.3"], /"300\.1\.2\.3".*300/],
  [["198.51.100.9-198.51.100.1"], /"198\.51\.100\.9-198\.51\.100\.1"/],
  [["2001:db8::/129"], /"2001:db8::\/129"/],
  [["-iL", "/nonexistent/targets.txt"], /"\/nonexistent\/targets\.txt"/],
  [["--top-ports", "-5", "127.0.0.1"], /--top-ports -5/],
  [["--max-rate", "0", "127.0.0.1"], /--max-rate 0/],
  [["-T9", "127.0.0.1"], /"9"/],
  [["--frobnicate", "127.0.0.1"], /"--frobnicate"/],
  [["-oJ", "/nonexistent/dir/out.json", "127.0.0.1"], /"\/nonexistent\/dir\/out\.json"/],
  [["2001:db8:::1"], /"2001:db8:::1"/],
  [[], /No targets/],
  [["-sT", "-sS", "127.0.0.1"], /-sT and -sS together/],
  [["-sL", "-sS", "127.0.0.1"], /-sL with other scan types/],
  [["-sn", "-p", "80", "127.0.0.1"], /-sn with -p/],
  [["-sn", "-sV", "127.0.0.1"], /-sn with a port scan/],
  [["-Pn", "-PE", "127.0.0.1"], /-Pn with -PE/],
  [["-PS70000", "127.0.0.1"], /-PS70000.*"70000".*<= 65535/],
  [["--version-intensity", "10", "-sV", "127.0.0.1"], /"10".*0-9/],
  [["--version-all", "127.0.0.1"], /without -sV/],
  [["--shard", "0/2", "--seed", "1", "127.0.0.1"], /--shard "0\/2": I must be in 1\.\.N/],
  [["--shard", "3", "--seed", "1", "127.0.0.1"], /--shard "3": expected I\/N/],
  [["--shard", "1/2", "127.0.0.1"], /--shard without --seed/],
  [["-sA", "127.0.0.1"], /-sA is not available/],
  [["-sS", "-p", "U:53", "127.0.0.1"], /No TCP ports left/],
];

for (const [args, pattern] of BAD) {
  Deno.test(`bad command line exits 2: portolan ${args.join(" ")}`, async () => {
    const result = await portolan(args);
    assert.equal(result.code, 2, `exit code, stderr: ${result.stderr}`);
    assert.equal(result.stdout, "", "nothing on stdout");
    const lines = result.stderr.trimEnd().split("\n");
    // The message, then the pointer to --help: no stack trace.
    assert.equal(lines.length, 2, `stderr: ${result.stderr}`);
    assert.match(lines[0]!, /^portolan: /);
    assert.match(lines[0]!, pattern);
    assert.doesNotMatch(result.stderr, /\bat .*\.ts:\d+/);
  });
}

Deno.test("--help prints the help and exits 0", async () => {
  const result = await portolan(["--help"]);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, HELP);
});

Deno.test("--version prints the version", async () => {
  const result = await portolan(["--version"]);
  assert.equal(result.code, 0);
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  assert.equal(result.stdout, `portolan ${config.version}\n`);
});

Deno.test("the README's flag reference is the --help text", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  assert.ok(readme.includes("```\n" + HELP + "```"), "README must quote --help verbatim");
});

Deno.test("-sL -n streams the addresses, exclusions applied, sends nothing", async () => {
  const result = await portolan(
    ["-sL", "-n", "198.51.100.0/30", "203.0.113.5-203.0.113.6", "--exclude", "198.51.100.1"],
    { permissions: ["--allow-read"] },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    "198.51.100.0\n198.51.100.2\n198.51.100.3\n203.0.113.5\n203.0.113.6\n",
  );
});

Deno.test("-iL reads specs from stdin with comments", async () => {
  const result = await portolan(["-sL", "-n", "-iL", "-"], {
    permissions: ["--allow-read"],
    stdin: "# lab\n198.51.100.7 2001:db8::1 # trailing\n\n203.0.113.0/31\n",
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "198.51.100.7\n203.0.113.0\n203.0.113.1\n2001:db8::1\n");
});
