#!/bin/sh
# Build the native programs with the system C compiler:
#   build/vmrun   the kernel runner, from native/vmrun/*.c (a program in parts)
#   build/NAME    every single-file program native/NAME.c (record, the recorder
#                 behind `vmtree record`; kbench, the kernel side of `npm run bench`)
# Usage: native/build.sh [OUTDIR]     (default build/; CC overrides the compiler, default cc)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
outdir=${1:-"$root/build"}
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "native/build.sh: no C compiler ('$cc') found" >&2
  exit 127
fi

# build OUTPUT SOURCE...: compile into a temporary file, then rename, so a
# failed build never leaves a half-written program behind
build() {
  dest=$1
  shift
  mkdir -p "$(dirname "$dest")"
  tmp="$dest.tmp.$$"
  trap 'rm -f "$tmp"' EXIT INT TERM
  "$cc" -O2 -Wall -Wextra -std=gnu11 -o "$tmp" "$@"
  mv -f "$tmp" "$dest"
  trap - EXIT INT TERM
}

build "$outdir/vmrun" "$here"/vmrun/*.c
for src in "$here"/*.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .c)
  build "$outdir/$name" "$src"
done
