#!/usr/bin/env bash
# Regenerates the tables of the README's "Would this scheme work?" and "Asked
# again in 2026" sections:
#   npm run tables
# Every design runs every workload; `vmtree compare` fails if any two
# designs print different output, so each table is also a correctness check.
# The same workloads and sizes as TABLES in src/report/data.ts, from which
# `npm run report` writes them into the README.
set -euo pipefail
cd "$(dirname "$0")/.."
v() { node bin/vmtree.js "$@"; }
v compare prefork --param heap=4096 --param workers=16
v compare zygote --param apps=32
v compare shell --param commands=200
v compare fork-chain --param generations=10000
# Rmap only runs under memory pressure: 1000 children each copy 20 pages,
# then reclaim walks every page's reverse map.
v compare cow-storm --param children=1000 --param pages=20 --frames 8192
v compare pressure --frames 512
# The README's "Asked again in 2026": the shapes the 2026 proposals stress
# (cow-storm reverse-mapped while shared and after every child copied; a
# fork chain whose last generation still maps g0's pages), with design
# variants `compare` cannot name (src/bench/asked-again-2026.ts).
node dist/bench/asked-again-2026.js
