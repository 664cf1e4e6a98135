#!/usr/bin/env bash
# store-cap: issue #16's acceptance for a bounded store, at full scale: 50
# builds of changing apps (256 KiB of new app layer each), two at a time,
# into a store kept under --store-max-size (its size after one build plus
# 1 MiB, room for four app layers). The store must stay within the cap after
# every pair, and every image, built or named by the store's index, must
# read back whole. make test runs the same test with 16 builds.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${GO:=go}"
tags="${TAGS:-netgo osusergo seccomp}"
[ -e /usr/lib/x86_64-linux-gnu/libseccomp.a ] || [ -e /usr/lib/aarch64-linux-gnu/libseccomp.a ] || tags="${tags/seccomp/}"
KILN_TEST_STORE_CAP_BUILDS=${STORE_CAP_BUILDS:-50} CGO_ENABLED=1 "$GO" test -tags "$tags" -ldflags '-extldflags=-static' \
	-count=1 -run '^TestStoreCap$' -v ./cmd/kiln >"${TMPDIR:-/tmp}/kiln-store-cap.log" 2>&1 ||
	{ grep -v '^=== ' "${TMPDIR:-/tmp}/kiln-store-cap.log" | tail -40 >&2; exit 1; }
grep -o 'store-cap: .*' "${TMPDIR:-/tmp}/kiln-store-cap.log"
rm -f "${TMPDIR:-/tmp}/kiln-store-cap.log"
