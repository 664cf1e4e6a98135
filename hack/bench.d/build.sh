#!/usr/bin/env bash
# build: `kiln build` of the walkthrough's empty buildpack end to end with a
# warm store (stack images present, build image unpacked), and the time kiln
# adds beyond the buildpacks' own run time. The floor, measured in the same
# run, is the buildpacks' bin/detect and bin/build run directly on the host
# with /bin/sh. Runs as the caller; when root, also as an unprivileged user.
set -euo pipefail
cd "$(dirname "$0")/../.."
kiln=$PWD/bin/kiln
bps=$PWD/cmd/kiln/testdata/buildpacks
runs=${BENCH_RUNS:-10}

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/kiln-bench-build.XXXXXX")
chmod 0755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

# A busybox stack made by kiln itself.
. hack/lib/stack.sh
busybox_rootfs "$tmp/rootfs"
mkdir -p "$tmp/app"
echo 'print("hello")' >"$tmp/app/main.py"
empty_builder "$tmp/builder.toml" "$tmp/stack"

bench() { # label, command prefix (empty or setpriv …)
	local label=$1; shift
	local store=$tmp/store-$label
	"$@" "$kiln" --store "$store" stack create --id io.github.future-architect.samples.debian \
		--build-base "rootfs:$tmp/rootfs" --run-base "rootfs:$tmp/rootfs" \
		--build-output "oci:$tmp/stack:build" --run-output "oci:$tmp/stack:run" >/dev/null
	"$@" "$kiln" --store "$store" build "oci:$tmp/out-$label:app" --builder "$tmp/builder.toml" --path "$tmp/app" >/dev/null # warm
	local total=0 i
	for ((i = 0; i < runs; i++)); do
		local s=$EPOCHREALTIME
		"$@" "$kiln" --store "$store" build "oci:$tmp/out-$label:app" --builder "$tmp/builder.toml" --path "$tmp/app" \
			--report "$tmp/report-$label.json" >/dev/null
		total=$(awk -v t="$total" -v a="$s" -v b="$EPOCHREALTIME" 'BEGIN { print t + b - a }')
	done
	local wall floor
	wall=$(awk -v t="$total" -v n="$runs" 'BEGIN { printf "%.3f", t / n }')
	floor=$(bp_floor)
	printf 'build %s: empty buildpack, warm store: %ss wall (mean of %d); buildpacks alone %ss; kiln adds %ss\n' \
		"$label" "$wall" "$runs" "$floor" "$(awk -v w="$wall" -v f="$floor" 'BEGIN { printf "%.3f", w - f }')"
	printf '  phases of the last run:'
	jq -r '.phases[] | " \(.phase) \(.seconds * 1000 | floor)ms"' "$tmp/report-$label.json" | tr -d '\n'
	echo
}

bp_floor() { # the buildpacks' own time: detect + build run directly, mean of $runs
	local s=$EPOCHREALTIME i
	mkdir -p "$tmp/floor/layers" "$tmp/floor/platform"
	for ((i = 0; i < runs; i++)); do
		(cd "$tmp/app" && /bin/sh "$bps/empty/bin/detect" "$tmp/floor/platform" "$tmp/floor/plan" >/dev/null &&
			/bin/sh "$bps/empty/bin/build" "$tmp/floor/layers" "$tmp/floor/platform" "$tmp/floor/plan" >/dev/null)
	done
	awk -v a="$s" -v b="$EPOCHREALTIME" -v n="$runs" 'BEGIN { printf "%.3f", (b - a) / n }'
}

bench "$(id -un)"
if [ "$(id -u)" -eq 0 ]; then
	id -u kiln-test >/dev/null 2>&1 || useradd --system --create-home --shell /bin/sh kiln-test
	chown -R kiln-test: "$tmp"
	bench rootless setpriv --reuid kiln-test --regid kiln-test --init-groups env HOME=/home/kiln-test
fi
