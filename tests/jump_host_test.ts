/**
 * The first run on a jump host needs nothing but Deno: an empty Deno cache,
 * no route out (a network namespace holding only loopback), a non-root user,
 * run from a folder of its own. `deno task --config …/deno.json scan` scans
 * and writes its relative -oJ where the user stood. Building the namespace
 * and changing user needs root: elsewhere the test says it was skipped and
 * why (under CI=true it fails instead).
 */
import assert from "node:assert/strict";
import { ROOT } from "./helpers.ts";

const decoder = new TextDecoder();
/** The unprivileged user and group the run drops to ("nobody" on Debian). */
const NOBODY = "65534";

async function runs(command: string, args: string[]): Promise<boolean> {
  try {
    const output = await new Deno.Command(command, { args, stdout: "null", stderr: "null" })
      .output();
    return output.success;
  } catch {
    return false;
  }
}

async function support(): Promise<{ ok: true } | { ok: false; why: string }> {
  if (Deno.uid() !== 0) return { ok: false, why: "needs root to build a namespace" };
  if (!await runs("unshare", ["-n", "true"])) return { ok: false, why: "unshare -n fails" };
  if (!await runs("setpriv", ["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", "true"])) {
    return { ok: false, why: "setpriv cannot drop to uid 65534" };
  }
  return { ok: true };
}

const supported = await support();
const name = "jump host: fresh Deno cache, no route out, non-root, from a subfolder";

if (!supported.ok && Deno.env.get("CI") !== "true") {
  Deno.test({ name: `${name} (skipped: ${supported.why})`, ignore: true, fn(): void {} });
} else {
  Deno.test(name, async () => {
    if (!supported.ok) throw new Error(`Cannot run the jump host test on CI: ${supported.why}`);
    const home = await Deno.makeTempDir({ prefix: "ptl-jump-" });
    const here = `${home}/work/sub`;
    await Deno.mkdir(here, { recursive: true });
    for (const dir of [home, `${home}/work`, here]) await Deno.chmod(dir, 0o777);
    const deno = Deno.execPath();
    const denoDir = `${home}/deno-dir`;
    // Port 80 listens (bound as root, before the drop), 22 does not: a connect scan tells them apart.
    const listener = `${deno} eval "Deno.listen({ hostname: '127.0.0.1', port: 80 }); ` +
      `await new Promise((r) => setTimeout(r, 60000));"`;
    const script = [
      "set -e",
      "ip link set lo up",
      // The listener's own cache, so the scanner's stays empty.
      `DENO_DIR=${home}/listener-deno-dir ${listener} >/dev/null 2>&1 &`,
      "trap 'kill $!' EXIT",
      "sleep 1.5",
      `setpriv --reuid ${NOBODY} --regid ${NOBODY} --clear-groups ` +
      `${deno} task --config ${ROOT}deno.json scan -p 22,80 127.0.0.1 -oJ rel.json`,
    ].join("\n");
    try {
      const output = await new Deno.Command("unshare", {
        args: ["-n", "sh", "-c", script],
        cwd: here,
        clearEnv: true,
        // No INIT_CWD: deno task sets it to where this command stands.
        env: {
          PATH: `${deno.slice(0, deno.lastIndexOf("/"))}:/usr/sbin:/usr/bin:/sbin:/bin`,
          HOME: home,
          DENO_DIR: denoDir,
          DENO_NO_UPDATE_CHECK: "1",
          NO_COLOR: "1",
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = decoder.decode(output.stderr);
      assert.equal(output.code, 0, `${decoder.decode(output.stdout)}\n${stderr}`);
      assert.doesNotMatch(stderr, /Download|registry\.npmjs|Failed caching/i);
      const report = JSON.parse(await Deno.readTextFile(`${here}/rel.json`));
      const ports = report.hosts[0].ports.map((port: { port: number; state: string }) =>
        `${port.port}/${port.state}`
      );
      assert.deepEqual(ports.sort(), ["22/closed", "80/open"]);
      assert.equal((await Deno.stat(`${here}/rel.json`)).uid, Number(NOBODY));
      await assert.rejects(() => Deno.stat(`${ROOT}rel.json`), Deno.errors.NotFound);
      // Nothing came from npm: the scanner's cache holds no npm package.
      const npm = await Array.fromAsync(Deno.readDir(`${denoDir}/npm`)).catch(() => []);
      assert.deepEqual(npm, []);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  });
}
