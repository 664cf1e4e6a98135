#!/usr/bin/env bash
# The whole suite, as CI runs it:
#   1. every package as the calling user (root in CI);
#   2. the privilege-dependent packages listed in hack/rootless-packages again
#      as an unprivileged user that this script creates, via setpriv.
# A skipped test fails the run when KILN_TEST_STRICT=1 (the default here):
# on the CI machine nothing may be skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
: "${GO:=go}"
export KILN_TEST_STRICT="${KILN_TEST_STRICT:-1}"
tags="${TAGS:-netgo osusergo seccomp}"
[ -e /usr/lib/x86_64-linux-gnu/libseccomp.a ] || [ -e /usr/lib/aarch64-linux-gnu/libseccomp.a ] || tags="${tags/seccomp/}"
export CGO_ENABLED=1
gotest=("$GO" test -tags "$tags" -ldflags '-extldflags=-static' -count=1 -timeout 25m)

logdir=$(mktemp -d /tmp/kiln-test.XXXXXX)
chmod 0755 "$logdir"
# Values the root pass records and the rootless pass must reproduce
# (testutil.SameAcrossModes), such as the digest of a built image.
export KILN_TEST_DIGESTS="$logdir/digests"
mkdir -m 1777 "$KILN_TEST_DIGESTS"
# Downloads that several packages' tests share within this run (the
# walkthrough's Debian packages: cmd/kiln's TestTutorial, cmd/kiln/podtest).
export KILN_TEST_CACHE="${KILN_TEST_CACHE:-$logdir/cache}"
trap 'rm -rf "$logdir"' EXIT
fail=0

summarise() { # log file
	grep -E '^(ok|FAIL|--- FAIL|--- SKIP|panic:|\?)' "$1" || true
	echo "  $(grep -c '^--- PASS' "$1") passed, $(grep -c '^--- FAIL' "$1") failed, $(grep -c '^--- SKIP' "$1") skipped (top-level tests)"
	if grep -q -- '--- SKIP' "$1" && [ "$KILN_TEST_STRICT" = 1 ]; then
		echo "test: tests were skipped (see above); on this machine nothing may be skipped" >&2
		fail=1
	fi
}

./hack/build.sh

echo "== go test ./... as $(id -un)"
if ! "${gotest[@]}" -v ./... >"$logdir/root.log" 2>&1; then
	fail=1
	grep -vE '^(=== (RUN|PAUSE|CONT|NAME)|--- PASS|    --- PASS)' "$logdir/root.log" | tail -200
fi
summarise "$logdir/root.log"

# deploy/ is a module of its own (the Kubernetes API types are for its test
# only): the integration files decoded strictly.
echo "== go test ./... in deploy/"
if ! (cd deploy && "$GO" test -count=1 -v ./... >"$logdir/deploy.log" 2>&1); then
	fail=1
	grep -vE '^(=== (RUN|PAUSE|CONT|NAME)|--- PASS|    --- PASS)' "$logdir/deploy.log" | tail -100
fi
summarise "$logdir/deploy.log"

if [ "$(id -u)" -eq 0 ] && [ -s hack/rootless-packages ]; then
	user=kiln-test
	id -u "$user" >/dev/null 2>&1 || useradd --system --create-home --shell /bin/sh "$user"
	uid=$(id -u "$user")
	bindir="$logdir/rootless"
	mkdir -p "$bindir"
	while read -r pkg; do
		[ -n "$pkg" ] && [ "${pkg#\#}" = "$pkg" ] || continue
		name=$(echo "$pkg" | tr '/.' '__')
		mkdir -p "$bindir/$name"
		"${gotest[@]}" -c -o "$bindir/$name/pkg.test" "./$pkg"
		# Tests run from their package directory; give the copy the same testdata.
		[ -d "$pkg/testdata" ] && cp -a "$pkg/testdata" "$bindir/$name/"
	done < hack/rootless-packages
	cp bin/kiln "$bindir/kiln"
	chown -R "$uid:$(id -g "$user")" "$bindir"
	echo "== rootless packages as $user (uid $uid)"
	for d in "$bindir"/*/; do
		[ -x "$d/pkg.test" ] || continue
		log="$logdir/$(basename "$d").log"
		if ! (cd "$d" && setpriv --reuid "$uid" --regid "$(id -g "$user")" --init-groups --reset-env \
			env HOME="$(getent passwd "$user" | cut -d: -f6)" KILN_TEST_STRICT="$KILN_TEST_STRICT" \
			KILN_TEST_BIN="$bindir/kiln" KILN_TEST_ROOTLESS=1 KILN_TEST_DIGESTS="$KILN_TEST_DIGESTS" PATH="$(dirname "$(command -v "$GO")"):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
			./pkg.test -test.v -test.count=1 -test.timeout 20m >"$log" 2>&1); then
			fail=1
			grep -vE '^(=== (RUN|PAUSE|CONT|NAME)|--- PASS|    --- PASS)' "$log" | tail -200
		fi
		echo "rootless $(basename "$d"):"
		summarise "$log"
	done
fi

# The closing line CI reads: every top-level test of both passes.
passed=$(cat "$logdir"/*.log | grep -c '^--- PASS' || true)
failed=$(cat "$logdir"/*.log | grep -c '^--- FAIL' || true)
skipped=$(cat "$logdir"/*.log | grep -c '^--- SKIP' || true)
if [ "$fail" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1 # a build failure or a panic outside any test
fi
echo "kiln: $passed passed, $failed failed, $skipped skipped"
if [ "$fail" -ne 0 ]; then
	exit 1
fi
