#!/usr/bin/env bash
# Regenerates the tables of the README's "On real programs" section:
#   npm run tables:real
# Every design runs every recording in examples/real (scripts/record-corpus.sh
# makes them) with physical memory at half the recording's peak, so reclaim
# and reverse mapping run; `vmtree compare` fails if any two designs print
# different output, so each table is also a correctness check.
set -euo pipefail
cd "$(dirname "$0")/.."
v() { node bin/vmtree.js "$@"; }
for f in examples/real/*.vmt examples/real/*.vmt.gz; do
  [ -e "$f" ] || continue
  name=$(basename "$f"); name=${name%.gz}; name=${name%.vmt}
  peak=$(v compare --designs tree --json "real:$name" | node -e '
    let s = ""; process.stdin.on("data", (d) => { s += d; }).on("end", () => {
      console.log(JSON.parse(s)[0].rows[0].stats.framesPeak); });')
  frames=$(( peak / 2 ))
  if [[ "$f" == *.gz ]]; then cmd=$(zcat "$f" | sed -n 's/^# vmtrace v1 recorded by `vmtree record` from: //p' | head -1)
  else cmd=$(sed -n 's/^# vmtrace v1 recorded by `vmtree record` from: //p' "$f" | head -1); fi
  echo "recorded from: \`${cmd}\`"
  echo
  v compare "real:$name" --frames "$frames"
done
