import assert from "node:assert/strict";
import { readResumeState, RESUME_VERSION, type ResumeState, writeResumeState } from "./resume.ts";

function state(): ResumeState {
  return {
    format: "portolan-resume",
    version: RESUME_VERSION,
    written: new Date(0).toISOString(),
    args: ["-p-", "198.51.100.2"],
    seed: "12345678901234567890",
    point: { next: 100, done: [102, 107] },
    report: {
      scanner: "portolan",
      version: "0.1.0",
      args: [],
      start: "",
      end: "",
      scaninfo: [],
      hosts: [{
        address: "198.51.100.2",
        hostnames: [],
        state: "up",
        reason: "syn-ack",
        ports: [],
        extraports: [],
      }],
      stats: { probes: 1, retries: 0, seconds: 1, hostsUp: 1, hostsDown: 0, hostsTotal: 1 },
    },
  };
}

Deno.test("resume state round-trips through its file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/nested/resume.json`;
    await writeResumeState(path, state());
    assert.deepEqual(await readResumeState(path), state());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("corrupt, foreign and newer resume files are refused with one clear line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string, RegExp][] = [
      ["\u0000\u00ff garbage", /not valid JSON/],
      [JSON.stringify({ hello: "world" }), /not a portolan resume file/],
      [JSON.stringify({ ...state(), version: 99 }), /version 99 is newer/],
      [JSON.stringify({ ...state(), seed: "abc" }), /seed is damaged/],
      [JSON.stringify({ ...state(), point: { next: -1, done: [] } }), /progress is damaged/],
      [JSON.stringify({ ...state(), report: { hosts: "x" } }), /results are damaged/],
    ];
    for (const [text, pattern] of cases) {
      const path = `${dir}/r.json`;
      await Deno.writeTextFile(path, text);
      await assert.rejects(() => readResumeState(path), (error: Error) => {
        assert.match(error.message, pattern);
        assert.match(error.message, /^Cannot resume from ".*r\.json": /);
        assert.ok(!error.message.includes("\n"));
        return true;
      });
    }
    await assert.rejects(() => readResumeState(`${dir}/missing.json`), /No such file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
