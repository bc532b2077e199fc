#!/bin/bash
# Instructions per fault, counted by valgrind (cachegrind, no cache
# simulation): a measure that does not move with this kind of machine's
# fast and slow phases, as wall time does (docs/performance.md). Two runs of
# scripts/fault-loop.mjs, with 3 and 13 machines of 32,768 faults each;
# their difference over 10 x 32,768 is one fault's instructions in the
# steady state (start-up and the JIT's warm-up cancel out). V8 runs single
# threaded, so that what it compiles and collects does not depend on timing.
# Counts of one build mostly agree within 1 %, but now and then the JIT
# settles differently (one run in ~15 was 17 % high): compare two builds
# with at least two runs each.
#
#   scripts/instructions.sh [KIND...]     KIND: write (default) | read | cow | floor | rewrite
#     (rewrite: every page written twice; less write, a write to a mapped page)
#   VMTREE_DIST=/other/dist scripts/instructions.sh write    another build
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v valgrind > /dev/null || { echo "instructions.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
count() {
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null --smc-check=all \
    node --single-threaded "$here/fault-loop.mjs" "$1" "$2" 2>&1 | sed -n 's/.*I *refs: *//p' | tr -d ,
}
for kind in "${@:-write}"; do
  a=$(count "$kind" 3)
  b=$(count "$kind" 13)
  echo "$kind: $(( (b - a) / (10 * 32768) )) instructions per fault"
done
