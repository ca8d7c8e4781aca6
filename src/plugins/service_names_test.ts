import assert from "node:assert/strict";
import { parseServiceNames, readServiceNames } from "./service_names.ts";

Deno.test("parseServiceNames reads nmap-services lines, the first name of a port wins", () => {
  const names = parseServiceNames(
    "# comment\ntcpmux\t1/tcp\t0.001995\t# TCP Port Service Multiplexer\n" +
      "ssh\t22/tcp\t0.182286\t# Secure Shell Login\nssh\t22/udp\t0.003905\n" +
      "other\t22/tcp\t0.1\nbroken line\n\nsctp-thing\t9/sctp\t0.0\n",
  );
  assert.deepEqual([...names], [
    ["1/tcp", "tcpmux"],
    ["22/tcp", "ssh"],
    ["22/udp", "ssh"],
    ["9/sctp", "sctp-thing"],
  ]);
});

Deno.test("readServiceNames gives an empty table when the file is missing", async () => {
  assert.equal((await readServiceNames("/nonexistent/nmap-services")).size, 0);
});
