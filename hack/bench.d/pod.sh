#!/usr/bin/env bash
# pod: the fixture app built in place in a restricted pod (the test's own
# dockerd, kiln build --builder rootfs:/, sandbox level none) against the
# same build on the host (namespaces sandbox), warm stores, both measured in
# this run (cmd/kiln/podtest's BenchmarkPodBuild). The pod's floor is
# starting the same pod with `kiln version`: Docker's own cost. Needs root
# (it starts dockerd).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
	echo "pod: needs root to start the test's dockerd; not measured"
	exit 0
fi
runs=${BENCH_RUNS:-5}
out=$(KILN_TEST_STRICT=1 go test -tags "${TAGS:-netgo osusergo seccomp}" -count=1 -run '^$' -bench BenchmarkPodBuild \
	-benchtime "${runs}x" ./cmd/kiln/podtest)
line=$(grep '^BenchmarkPodBuild' <<<"$out") || { echo "$out"; exit 1; }
metric() { awk -v m="$1" '{ for (i = 2; i <= NF; i++) if ($i == m) print $(i-1) }' <<<"$line"; }
printf 'pod: fixture app, warm stores, mean of %d: host %ss, in a restricted pod %ss (pod start %ss)\n' \
	"$runs" "$(metric host-s/build)" "$(metric pod-s/build)" "$(metric pod-start-s)"
printf '  ratio pod/host %s; without the pod start %s\n' "$(metric pod/host)" "$(metric '(pod-start)/host')"
