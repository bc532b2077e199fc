#!/usr/bin/env bash
# Regenerates examples/real/: real programs recorded by `vmtree record`.
#   bash scripts/record-corpus.sh [NAME...]      (default: every entry)
# Needs what `vmtree record` needs (Linux >= 6.7, x86-64, root) and dash,
# python3 (/usr/bin/python3), make, cc and xz. Each trace's header names the
# command that recorded it; traces over 256 KiB are stored gzipped
# (`vmtree compare real:NAME` and the tests read either).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
out=examples/real
src=$out/src
# a fixed place, so that the paths in the traces stay the same from one run to the next
work=/tmp/vmtree-corpus
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

rec() {
  local name=$1
  shift
  rm -f "$out/$name.vmt" "$out/$name.vmt.gz"
  node bin/vmtree.js record -o "$out/$name.vmt" -- "$@" >/dev/null
  if [ "$(stat -c %s "$out/$name.vmt")" -gt 262144 ]; then gzip -9n "$out/$name.vmt"; fi
  echo "recorded $name: $(ls "$out/$name".vmt* | head -1)" >&2
}

want() { [ $# -eq 0 ] || [[ " $* " == *" $NAME "* ]]; }
all=("$@")

NAME=dash-pipeline
if want "${all[@]}"; then
  rec dash-pipeline dash -c 'for i in 1 2 3; do echo "line $i" | tr a-z A-Z | wc -c; done; x=$(echo sub | cat); (cd / && ls >/dev/null); echo "$x"'
fi

NAME=python-subprocess
if want "${all[@]}"; then
  rec python-subprocess /usr/bin/python3 -c 'import subprocess; subprocess.run(["true"]); subprocess.run(["sh", "-c", "echo hi | cat"], stdout=subprocess.DEVNULL)'
fi

NAME=make-j2
if want "${all[@]}"; then
  cp -r "$src/make-tiny" "$work/make-tiny"
  rec make-j2 make -s -j2 -C "$work/make-tiny"
fi

NAME=prefork-server
if want "${all[@]}"; then
  rec prefork-server /usr/bin/python3 "$src/prefork_server.py" 3 4
fi

NAME=xz-threads
if want "${all[@]}"; then
  seq 1 200000 >"$work/numbers.txt"
  rec xz-threads xz -T2 -1 --block-size=256KiB -c -k "$work/numbers.txt"
fi
