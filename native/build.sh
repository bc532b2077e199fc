#!/bin/sh
# Build the native kernel runner: build/vmrun from native/*.c with the system C compiler.
# Usage: native/build.sh [OUTPUT]     (CC overrides the compiler, default cc)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${1:-"$root/build/vmrun"}
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "native/build.sh: no C compiler ('$cc') found" >&2
  exit 127
fi
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT INT TERM
"$cc" -O2 -Wall -Wextra -std=gnu11 -o "$tmp" "$here"/vmrun.c
mv -f "$tmp" "$out"
trap - EXIT INT TERM
