#!/usr/bin/env bash
# rebase: `kiln rebase` of an app image with ~8 MB of app layers in an OCI
# layout onto a newer run image of the same name (target: under 0.2 s). The
# floor, measured in the same run, is `kiln image copy` of the same image into
# a layout that already holds its blobs: one kiln process that reads the
# image and writes a manifest and index, which a rebase cannot undercut. A
# full copy into an empty layout is printed for scale. Every command runs
# $runs times, interleaved; the mean counts.
set -euo pipefail
cd "$(dirname "$0")/../.."
kiln=$PWD/bin/kiln
runs=${BENCH_RUNS:-20}

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/kiln-bench-rebase.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
k() { "$kiln" --store "$tmp/store" "$@"; }
quiet() { "$@" >/dev/null 2>"$tmp/stderr" || { cat "$tmp/stderr" >&2; return 1; }; }

# A busybox stack made by kiln itself, and an app of 8 MB of incompressible
# data, built with the walkthrough's empty buildpack.
. hack/lib/stack.sh
busybox_rootfs "$tmp/rootfs"
mkdir -p "$tmp/app"
head -c 8388608 /dev/urandom >"$tmp/app/data.bin"
empty_builder "$tmp/builder.toml" "$tmp/stack"
stack() {
	quiet k stack create --id io.github.future-architect.samples.debian \
		--build-base "rootfs:$tmp/rootfs" --run-base "rootfs:$tmp/rootfs" \
		--build-output "oci:$tmp/stack:build" --run-output "oci:$tmp/stack:run"
}
stack
quiet k build "oci:$tmp/out:app" --builder "$tmp/builder.toml" --path "$tmp/app"
# The stack is updated under the same name.
echo 2 >"$tmp/rootfs/etc/run-version"
stack

# Warm up, and check that the rebase kept the app layers.
quiet k rebase "oci:$tmp/out:app" --output "oci:$tmp/out:rebased"
quiet k image copy "oci:$tmp/out:app" "oci:$tmp/copy:app"
app_layers=$(k inspect --json "oci:$tmp/out:app" | jq -c '[.app_layers[].digest]')
rebased_layers=$(k inspect --json "oci:$tmp/out:rebased" | jq -c '[.app_layers[].digest]')
if [ "$app_layers" != "$rebased_layers" ]; then
	echo "rebase: the app layers changed: $app_layers → $rebased_layers" >&2
	exit 1
fi
app_mb=$(k inspect --json "oci:$tmp/out:app" | jq '.app_size / 1048576 * 10 | floor / 10')

elapsed() { # command… → seconds
	local s=$EPOCHREALTIME
	quiet "$@"
	awk -v a="$s" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }'
}
rt=0 ft=0 ct=0
for ((i = 0; i < runs; i++)); do
	rt=$(awk -v t="$rt" -v d="$(elapsed k rebase "oci:$tmp/out:app" --output "oci:$tmp/out:rebased")" 'BEGIN { print t + d }')
	ft=$(awk -v t="$ft" -v d="$(elapsed k image copy "oci:$tmp/out:app" "oci:$tmp/copy:app")" 'BEGIN { print t + d }')
	rm -rf "$tmp/full"
	ct=$(awk -v t="$ct" -v d="$(elapsed k image copy "oci:$tmp/out:app" "oci:$tmp/full:app")" 'BEGIN { print t + d }')
done
awk -v r="$rt" -v f="$ft" -v c="$ct" -v n="$runs" -v mb="$app_mb" 'BEGIN {
	r /= n; f /= n; c /= n
	printf "rebase: %.3fs (floor %.3fs ratio %.2f; full copy %.3fs) oci layout, %s MB of app layers, mean of %d\n", r, f, r / f, c, mb, n
	if (r >= 0.2) { print "rebase: over the 0.2 s target" > "/dev/stderr"; exit 1 }
}'
