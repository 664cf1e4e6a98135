#!/usr/bin/env bash
# sandbox: what kiln's sandbox costs to run /bin/true (busybox) against the
# floor measured in the same run, `unshare -Urmpiu --fork chroot ROOTFS
# /bin/true` (as root: `unshare -mpiu …`):
#   process   — one container, a process per iteration (a lifecycle phase
#               running its buildpacks: the container's init forks and execs);
#   container — a fresh container per process (start, run, remove);
#   none      — the same two at the none level (plain children of kiln on the
#               host's root, the host's /bin/true): what namespaces cost per
#               process and per container over no isolation.
# Go benchmarks in sandbox/bench_test.go; each runs three times, the median
# counts (the machine is shared). Measured as root and, when this runs as
# root, again as an unprivileged user (the rootless path).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${GO:=go}"
tags="${TAGS:-netgo osusergo seccomp}"
[ -e /usr/lib/x86_64-linux-gnu/libseccomp.a ] || [ -e /usr/lib/aarch64-linux-gnu/libseccomp.a ] || tags="${tags/seccomp/}"
iterations=${SANDBOX_BENCH_N:-200}

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/kiln-bench.XXXXXX")
chmod 0755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=1 "$GO" test -c -tags "$tags" -ldflags '-extldflags=-static' -o "$tmp/sandbox.test" ./sandbox

# report MODE < benchmark output: medians and ratios.
report() {
	awk -v mode="$1" '
	/^Benchmark/ { name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name); t[name, ++n[name]] = $3 / 1e6 }
	function median(k,   i, j, v, c) {
		c = n[k]
		for (i = 1; i <= c; i++) v[i] = t[k, i]
		for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
		return v[int((c + 1) / 2)]
	}
	END {
		if (!n["UnshareFloor"] || !n["Process"] || !n["Container"] || !n["ProcessNone"] || !n["ContainerNone"]) { print "sandbox: benchmarks missing" > "/dev/stderr"; exit 1 }
		f = median("UnshareFloor"); p = median("Process"); c = median("Container")
		pn = median("ProcessNone"); cn = median("ContainerNone")
		printf "%s: unshare floor %.2f ms, sandbox per process %.2f ms, per container %.2f ms\n", mode, f, p, c
		printf "%s: none level per process %.2f ms, per container %.2f ms\n", mode, pn, cn
		printf "ratio %s process/unshare %.2f\n", mode, p / f
		printf "ratio %s container/unshare %.2f\n", mode, c / f
		printf "ratio %s process namespaces/none %.2f\n", mode, p / pn
		printf "ratio %s container namespaces/none %.2f\n", mode, c / cn
	}'
}

bench=("$tmp/sandbox.test" -test.run '^$' -test.bench '^Benchmark(Process|Container|ProcessNone|ContainerNone|UnshareFloor)$'
	-test.benchtime "${iterations}x" -test.count 3)
(cd sandbox && "${bench[@]}") | tee "$tmp/self.log" | grep '^Benchmark' || true
report "$(if [ "$(id -u)" -eq 0 ]; then echo root; else echo rootless; fi)" <"$tmp/self.log"

if [ "$(id -u)" -eq 0 ]; then
	user=kiln-test
	id -u "$user" >/dev/null 2>&1 || useradd --system --create-home --shell /bin/sh "$user"
	chown -R "$user:" "$tmp"
	(cd "$tmp" && setpriv --reuid "$user" --regid "$(id -g "$user")" --init-groups --reset-env \
		env HOME=/tmp PATH=/usr/sbin:/usr/bin:/sbin:/bin "${bench[@]}") | tee "$tmp/rootless.log" | grep '^Benchmark' || true
	report rootless <"$tmp/rootless.log"
fi
