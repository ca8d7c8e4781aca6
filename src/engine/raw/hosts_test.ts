import assert from "node:assert/strict";
import type { Host, TargetSet } from "../../targets/mod.ts";
import { createTargetSet } from "../../targets/mod.ts";
import { HostIndexer } from "./hosts.ts";

const set = createTargetSet([
  { family: 4, start: 10n, end: 19n },
  { family: 4, start: 100n, end: 100n },
  { family: 6, start: 1n << 100n, end: (1n << 100n) + 5n },
]);

Deno.test("HostIndexer finds every host of a range set, and nothing else", () => {
  const indexer = new HostIndexer(set);
  for (let i = 0n; i < set.size; i++) {
    const host = set.at(i);
    const value = host.family === 4 ? Number(host.value) : host.value;
    assert.equal(indexer.indexOf(host.family, value), i);
  }
  assert.equal(indexer.indexOf(4, 20), undefined);
  assert.equal(indexer.indexOf(4, 9), undefined);
  assert.equal(indexer.indexOf(6, 5n), undefined);
});

Deno.test("HostIndexer reads the core's ranges (typed arrays) without walking the set", () => {
  const ranges = createTargetSet([{ family: 4, start: 10n, end: 19n }]);
  const hosts = [...ranges.hosts()];
  let walked = 0;
  const at = ranges.at.bind(ranges);
  Object.assign(ranges, { at: (index: bigint): Host => (walked++, at(index)) });
  const indexer = new HostIndexer(ranges);
  hosts.forEach((host, i) => assert.equal(indexer.indexOf(4, Number(host.value)), BigInt(i)));
  assert.equal(walked, 0);
});

Deno.test("HostIndexer falls back to a binary search over any target set", () => {
  const generic: TargetSet = {
    size: set.size,
    at: (index: bigint): Host => set.at(index),
    hosts: () => set.hosts(),
  };
  const indexer = new HostIndexer(generic);
  for (let i = 0n; i < set.size; i++) {
    const host = set.at(i);
    assert.equal(indexer.indexOf(host.family, host.value), i);
  }
  assert.equal(indexer.indexOf(4, 50n), undefined);
});
