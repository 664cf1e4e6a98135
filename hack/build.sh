#!/usr/bin/env bash
# Builds bin/kiln as a static cgo binary (see Makefile for why).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${GO:=go}"
tags="${TAGS:-netgo osusergo seccomp}"
if [[ " $tags " == *" seccomp "* ]] && [ ! -e /usr/lib/x86_64-linux-gnu/libseccomp.a ] && [ ! -e /usr/lib/aarch64-linux-gnu/libseccomp.a ]; then
	echo "build: libseccomp.a not found (Debian: libseccomp-dev); building without seccomp" >&2
	tags="${tags/seccomp/}"
fi
mkdir -p bin
# The CNB launcher kiln puts in every image: static, standard library only and
# reproducible (no cgo, no paths, no build ID, no VCS stamp), for both image
# architectures. cmd/kiln embeds it from cmd/kiln/launcherbin, so it comes first.
for arch in amd64 arm64; do
	CGO_ENABLED=0 GOOS=linux GOARCH="$arch" "$GO" build -trimpath -buildvcs=false -ldflags '-s -w -buildid=' \
		-o "cmd/kiln/launcherbin/launcher-linux-$arch" ./cmd/launcher
done
CGO_ENABLED=1 "$GO" build -trimpath -tags "$tags" -ldflags '-s -w -extldflags=-static' -o bin/kiln ./cmd/kiln
