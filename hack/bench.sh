#!/usr/bin/env bash
# Benchmarks with ratios against floors measured in the same run.
# Each benchmark script under hack/bench.d prints its own "ratio" lines.
set -euo pipefail
cd "$(dirname "$0")/.."
./hack/build.sh
status=0
for b in hack/bench.d/*.sh; do
	[ -e "$b" ] || continue
	echo "== $(basename "$b" .sh)"
	bash "$b" || status=1
done
exit $status
