/**
 * `deno task bench`: every benchmark, one after another, same arguments.
 *
 * @module
 */

import { main as connect } from "./connect_bench.ts";
import { main as list } from "./list_bench.ts";
import { main as raw } from "./raw_bench.ts";
import { main as service } from "./service_bench.ts";

if (import.meta.main) {
  const listArgs = Deno.args.filter((arg, i, all) =>
    arg === "--write" || arg === "--runs" || all[i - 1] === "--runs"
  );
  const codes = [
    await connect(Deno.args),
    await list(listArgs),
    await raw(listArgs),
    await service(listArgs),
  ];
  Deno.exit(codes.some((code) => code !== 0) ? 1 : 0);
}
