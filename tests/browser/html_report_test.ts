/**
 * The HTML report in a real browser: Debian's headless Chromium driven by
 * playwright-core. The table and charts render, sorting works, and nothing a
 * hostile service sent runs.
 */
// playwright-core reads /proc/sys/fs/binfmt_misc (a WSL check), which Deno
// grants only with --allow-all: this folder runs on its own with it (deno.json).
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: not in deno.json, so the scanner never fetches it
import { chromium } from "npm:playwright-core@1.65.1";
import { toHtml } from "../../plugins/output_html.ts";
import { exists, mustRun, sampleScan } from "../../plugins/output_fixtures.ts";

const CHROMIUM = "/usr/bin/chromium";
const canRun = mustRun() || exists(CHROMIUM);

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

Deno.test({
  name: canRun
    ? "html report in headless Chromium: table, charts, sorting, no hostile script runs"
    : "html report in headless Chromium (skipped: /usr/bin/chromium missing; apt-get install chromium)",
  ignore: !canRun,
  // playwright keeps its pipes open until the browser is gone; the test closes it.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir();
    const profile = `${dir}/profile`;
    const file = `${dir}/report.html`;
    await Deno.writeTextFile(file, await toHtml(sampleScan({ hostile: true }).report));
    // launchPersistentContext is how playwright takes a fresh --user-data-dir.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      timeout: 60_000,
    });
    try {
      const page = await context.newPage();
      const dialogs: string[] = [];
      const problems: string[] = [];
      const requests: string[] = [];
      page.on("dialog", (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });
      page.on("pageerror", (error) => problems.push(String(error)));
      page.on("request", (request) => requests.push(request.url()));
      await page.goto(`file://${file}`);

      // The table renders its rows, the pictures their shapes.
      const rows = page.locator("#port-table tbody tr");
      assert.equal(await rows.count(), 8);
      assert.equal(await page.locator("#host-map rect.cell").count(), 24);
      assert.equal(await page.locator("#state-chart rect").count(), 3);
      assert.equal(await page.locator("#service-chart rect").count(), 5);
      for (const id of ["#host-map", "#state-chart", "#service-chart"]) {
        const box = await page.locator(id).boundingBox();
        assert.ok(box !== null && box.width > 50 && box.height > 20, `${id} is drawn`);
      }
      assert.equal(await page.locator("#cert-table tbody tr").count(), 1);
      // The stylesheet was allowed by the CSP: headings are clickable-looking.
      // The page's own code runs in the browser, so it is passed as text (no DOM types here).
      const cursor = await page.evaluate(
        `getComputedStyle(document.querySelector("#port-table th")).cursor`,
      );
      assert.equal(cursor, "pointer");

      const column = async (index: number): Promise<string[]> =>
        await page.evaluate(
          `Array.from(document.querySelectorAll("#port-table tbody tr"))
            .map((tr) => tr.cells[${index}].textContent)`,
        ) as string[];
      // Port, numerically, then the other way.
      await page.locator("#port-table th", { hasText: "Port" }).click();
      assert.deepEqual(await column(2), ["1", "2", "3", "22", "43", "80", "99", "8080"]);
      await page.locator("#port-table th", { hasText: "Port" }).click();
      assert.deepEqual(await column(2), ["8080", "99", "80", "43", "22", "3", "2", "1"]);
      // Address, in address order (IPv4 before IPv6), not as text.
      await page.locator("#port-table th", { hasText: "Address" }).click();
      const addresses = await column(0);
      assert.deepEqual([...new Set(addresses)], ["198.51.100.1", "198.51.100.2", "2001:db8::5"]);
      assert.equal(
        await page.locator("#port-table th", { hasText: "Address" }).getAttribute("aria-sort"),
        "ascending",
      );

      // Nothing from the network ran or became markup.
      assert.deepEqual(dialogs, []);
      assert.equal(await page.locator("img").count(), 0);
      assert.equal(await page.locator("script").count(), 1);
      assert.equal(await page.title(), "portolan scan report");
      const banner = (await column(8)).join("");
      assert.ok(banner.includes("</title><script>alert(1)</script>"), "shown as text");
      assert.deepEqual(problems, []);
      assert.deepEqual(requests, [`file://${file}`]);
    } finally {
      await context.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: canRun
    ? "html report in a 1400 px window: full width, versions on one line, long banners folded"
    : "html report layout (skipped: /usr/bin/chromium missing; apt-get install chromium)",
  ignore: !canRun,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir();
    const file = `${dir}/report.html`;
    const report = sampleScan().report;
    const ssh = report.hosts[1]!.ports.find((port) => port.port === 22)!.service!;
    ssh.version = "9.2p1 Debian 2+deb12u10";
    ssh.banner = "SSH-2.0-" + "A".repeat(100_000);
    await Deno.writeTextFile(file, await toHtml(report));
    const context = await chromium.launchPersistentContext(`${dir}/profile`, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      timeout: 60_000,
      viewport: { width: 1400, height: 900 },
    });
    try {
      const page = await context.newPage();
      await page.goto(`file://${file}`);
      const layout = await page.evaluate(`(() => {
        const table = document.querySelector("#port-table");
        const lines = (cell) => {
          const range = document.createRange();
          range.selectNodeContents(cell);
          return new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top))).size;
        };
        const rows = Array.from(table.tBodies[0].rows);
        return {
          width: table.getBoundingClientRect().width,
          clipped: Array.from(document.querySelectorAll("th"))
            .filter((th) => th.scrollWidth > th.clientWidth).map((th) => th.textContent),
          versionLines: rows.map((row) => row.cells[7]).filter((cell) => cell.textContent !== "")
            .map(lines),
          tallest: Math.max(...rows.map((row) => row.getBoundingClientRect().height)),
        };
      })()`) as { width: number; clipped: string[]; versionLines: number[]; tallest: number };
      assert.ok(layout.width >= 0.9 * 1400, `the table is ${layout.width} px wide of 1400`);
      assert.deepEqual(layout.clipped, [], "column labels fit");
      assert.ok(layout.versionLines.length >= 3);
      assert.deepEqual(layout.versionLines, layout.versionLines.map(() => 1), "versions unbroken");
      assert.ok(layout.tallest < 120, `the tallest row is ${layout.tallest} px`);
      // The banner unfolds on demand, in a box that scrolls rather than grows.
      await page.locator("#port-table summary").first().click();
      const box = await page.locator("#port-table pre.banner").first().boundingBox();
      assert.ok(box !== null && box.height > 50 && box.height < 400, `banner box ${box?.height}`);
    } finally {
      await context.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
