import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: not in deno.json, so the scanner never fetches it
import fc from "npm:fast-check@4.11.0";
import { mssOption, parseReply, TcpFlag, writeTcpPacket } from "../../packet/mod.ts";
import { Tcp4ProbeWriter } from "./probe.ts";
import { fuzzBudget } from "../../testing/fuzz.ts";

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });

Deno.test("property: probes are byte for byte what writeTcpPacket writes", () => {
  fc.assert(
    fc.property(
      u32,
      u32,
      u16,
      u16,
      u32,
      u32,
      fc.constantFrom(TcpFlag.Syn, TcpFlag.Ack, TcpFlag.Rst),
      u16,
      fc.boolean(),
      (src, dst, srcPort, dstPort, seq, ack, flags, id, withMss) => {
        const options = withMss ? mssOption() : new Uint8Array(0);
        const fast = new Uint8Array(80).fill(0xee);
        const length = new Tcp4ProbeWriter(src, options).write(fast, {
          dst,
          srcPort,
          dstPort,
          seq,
          ack,
          flags,
          id,
        });
        const slow = new Uint8Array(80).fill(0xee);
        const expected = writeTcpPacket(slow, {
          src,
          dst,
          srcPort,
          dstPort,
          seq,
          ack,
          flags,
          id,
          ...(withMss ? { options } : {}),
        });
        assert.equal(length, expected);
        assert.deepEqual(fast, slow);
      },
    ),
    fuzzBudget(2000, 20261203),
  );
});

Deno.test("a written SYN parses back with valid checksums", () => {
  const buffer = new Uint8Array(64);
  const writer = new Tcp4ProbeWriter(0xc6336401, mssOption());
  const length = writer.write(buffer, {
    dst: 0xc6336402,
    srcPort: 40000,
    dstPort: 443,
    seq: 0xdeadbeef,
    ack: 0,
    flags: TcpFlag.Syn,
    id: 7,
  });
  const parsed = parseReply(buffer.subarray(0, length), {
    linkType: "ip",
    verifyChecksums: true,
  });
  assert.equal(parsed?.kind, "tcp");
  assert.equal(parsed?.kind === "tcp" && parsed.mss, 1460);
});
