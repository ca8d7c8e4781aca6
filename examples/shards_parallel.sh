#!/bin/sh
# A scan split into N shards run side by side with GNU parallel, then merged.
#
#   examples/shards_parallel.sh 4 -sS -Pn -p 80,443 198.51.100.0/24
#
# Every shard gets the same --seed, so shards 1/N … N/N walk one probe order
# and cover it exactly once between them; each writes its own JSONL (streamed,
# so an interrupted shard keeps what it found), and `portolan merge` turns them
# into the whole scan's report. On several machines, run one shard per machine
# (`parallel -S host1,host2,…`) and copy the parts back before the merge.
set -eu
shards=${1:?usage: $0 N SCAN-ARGS... (e.g. 4 -sS -Pn -p 80 198.51.100.0/24)}
shift
seed=${SEED:-$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')}
out=${OUT:-shards}
mkdir -p "$out"
# --halt now,fail=1: one failed shard stops the others (the merge would be partial).
seq 1 "$shards" | parallel --halt now,fail=1 --line-buffer \
  deno task scan --seed "$seed" --shard "{}/$shards" --output "jsonl:$out/part{}.jsonl" "$@"
deno task scan merge "$out"/part*.jsonl -oJ "$out/merged.json" -oX "$out/merged.xml"
