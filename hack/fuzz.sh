#!/usr/bin/env bash
# make fuzz: runs every Fuzz target of the module with go test -fuzz for a
# bounded time each, then prints one line per target and fails when any
# target found a crashing or hanging input (written to the package's
# testdata/fuzz/<Target>/ for go test to replay).
#   FUZZTIME=60s       time per target (go test -fuzztime; a count like 10000x works too)
#   FUZZ_PARALLEL=N    fuzzing processes per target (default: the CPUs)
#   FUZZ_MINIMIZE=5s   time spent minimising each new input
#   FUZZ_ONLY=REGEXP   only the targets whose name matches
# make test runs the seed corpora only (f.Add and testdata/fuzz), quickly.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${GO:=go}"
: "${FUZZTIME:=60s}"
: "${FUZZ_PARALLEL:=$(nproc)}"
: "${FUZZ_MINIMIZE:=5s}"
: "${FUZZ_ONLY:=.}"
tags="${TAGS:-netgo osusergo seccomp}"
[ -e /usr/lib/x86_64-linux-gnu/libseccomp.a ] || [ -e /usr/lib/aarch64-linux-gnu/libseccomp.a ] || tags="${tags/seccomp/}"
export CGO_ENABLED=1

# Unpack targets write and fsync small trees and layers on every input: on
# a tmpfs that costs nothing.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	work=$(mktemp -d /dev/shm/kiln-fuzz.XXXXXX)
else
	work=$(mktemp -d)
fi
trap 'rm -rf "$work"' EXIT
logs=$(mktemp -d /tmp/kiln-fuzz-logs.XXXXXX)

targets=()
for pkg in $("$GO" list ./...); do
	for t in $("$GO" test -tags "$tags" -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		[[ $t =~ $FUZZ_ONLY ]] && targets+=("$pkg $t")
	done
done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets match $FUZZ_ONLY" >&2; exit 1; }

echo "fuzz: ${#targets[@]} targets, $FUZZTIME each, $FUZZ_PARALLEL processes, logs in $logs"
printf '%-28s %-34s %8s %12s %10s %8s %8s %6s\n' target package seconds execs new-cover corpus crashes hangs
bad=0
for entry in "${targets[@]}"; do
	pkg=${entry% *} t=${entry#* }
	log="$logs/$t.log"
	start=$(date +%s)
	rc=0
	TMPDIR="$work" "$GO" test -tags "$tags" -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" \
		-fuzzminimizetime "$FUZZ_MINIMIZE" -parallel "$FUZZ_PARALLEL" -timeout 0 "$pkg" >"$log" 2>&1 || rc=$?
	secs=$(($(date +%s) - start))
	last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -1 || true)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	newi=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	total=$(sed -nE 's/.*\(total: ([0-9]+)\).*/\1/p' <<<"$last")
	crashes=0 hangs=0
	if grep -q 'Failing input written to' "$log"; then
		if grep -q 'hung or terminated unexpectedly' "$log"; then hangs=1; else crashes=1; fi
	elif [ "$rc" -ne 0 ]; then
		if grep -q 'context deadline exceeded' "$log" && ! grep -qE '^\s+\S+_test\.go:[0-9]+:' "$log"; then
			# Go's coordinator can report its own -fuzztime deadline as a
			# failure with no input (golang/go#75804, fixed in Go 1.27).
			echo "fuzz: $t: the -fuzztime deadline race of golang/go#75804 (no failing input); not a finding" >&2
		else
			crashes=1
		fi
	fi
	[ $((crashes + hangs)) -eq 0 ] || bad=1
	printf '%-28s %-34s %8s %12s %10s %8s %8s %6s\n' "$t" "${pkg#github.com/kilnbuild/kiln/}" "$secs" "${execs:-?}" "${newi:-?}" "${total:-?}" "$crashes" "$hangs"
	if [ $((crashes + hangs)) -ne 0 ]; then
		grep -vE '^fuzz: elapsed' "$log" | tail -20 >&2
	fi
done
if [ "$bad" -ne 0 ]; then
	echo "fuzz: failing inputs were written to testdata/fuzz (see above); go test replays them" >&2
	exit 1
fi
