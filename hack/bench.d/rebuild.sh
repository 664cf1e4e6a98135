#!/usr/bin/env bash
# rebuild: what a second build costs. A busybox stack (kiln stack create) and
# the counter fixture buildpack, which writes BIG_MB=200 MB of mixed files
# into a launch+cache layer when its cache is empty and keeps it otherwise.
# Measured in the same run against the first build:
#   - an unchanged rebuild: wall time, the buildpacks' own time (the build
#     phase: bin/build in the container), kiln's overhead (the rest), the
#     bytes of layer content compressed (0 when every layer was reused) and
#     whether the image digest is the same;
#   - an app-only change: which layers were written anew (only the app's).
set -euo pipefail
cd "$(dirname "$0")/../.."
kiln=$PWD/bin/kiln
[ -x "$kiln" ] || ./hack/build.sh
. hack/lib/stack.sh

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/kiln-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
busybox_rootfs rootfs
mkdir -p app
"$kiln" --store store stack create --id io.github.future-architect.samples.debian \
	--build-base rootfs:rootfs --run-base rootfs:rootfs \
	--build-output oci:stack:build --run-output oci:stack:run >/dev/null 2>&1
cat >builder.toml <<TOML
[[buildpacks]]
uri = "$OLDPWD/cmd/kiln/testdata/buildpacks/counter"
[[order]]
  [[order.group]]
  id = "example/counter"
[stack]
id = "io.github.future-architect.samples.debian"
build-image = "oci:stack:build"
run-image = "oci:stack:run"
TOML
echo 'echo hello' >app/app.sh

# build N [FLAGS]: runs kiln build -v into oci:out:app; sets secs, and
# leaves the output in out.N and the report in report.N.json.
build() {
	local n=$1 start=$EPOCHREALTIME
	shift
	"$kiln" --store store -v build oci:out:app --builder builder.toml --path app \
		-e BIG_MB=200 --report "report.$n.json" "$@" >"out.$n" 2>"err.$n" ||
		{ cat "out.$n" "err.$n" >&2; exit 1; }
	secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
}
phase() { # report phase → seconds
	awk -v p="\"$2\"" '$0 ~ "\"phase\": " p { getline; gsub(/[^0-9.e-]/, "", $2); print $2 }' "report.$1.json"
}
compressed() { sed -n 's/^Compressed \([0-9]*\) bytes of layer content$/\1/p' "out.$1"; }
digest() { sed -n 's/^  "digest": "\(.*\)",$/\1/p' "report.$1.json"; }
human() { awk -v b="$1" 'BEGIN { if (b < 1024) printf "%d B", b; else if (b < 1048576) printf "%.1f KiB", b / 1024; else printf "%.1f MiB", b / 1048576 }'; }

build 1
first=$secs
build 2
rebuild=$secs
bp=$(phase 2 build)
overhead=$(awk -v r="$rebuild" -v b="$bp" 'BEGIN { printf "%.2f", r - b }')
printf 'first build %ss, rebuild %ss (buildpack time %.2fs, kiln overhead %ss), compressed on first build: %s, on rebuild: %s\n' \
	"$first" "$rebuild" "$bp" "$overhead" "$(human "$(compressed 1)")" "$(human "$(compressed 2)")"
if [ "$(digest 1)" = "$(digest 2)" ]; then
	echo "unchanged rebuild: same image digest $(digest 2)"
else
	echo "unchanged rebuild: DIGEST CHANGED $(digest 1) -> $(digest 2)"
fi
echo "rebuild phases: $(for p in prepare analyze detect restore build export cache write; do printf '%s %.2fs  ' "$p" "$(phase 2 $p)"; done)"

echo 'echo changed' >app/app.sh
build 3
new=$(grep -o "^Adding layer '[^']*'\|^Adding [0-9]*/[0-9]* app layer(s)" out.3 | tr '\n' ';' || true)
printf 'app-only change: %ss, compressed %s, written anew: %s\n' "$secs" "$(human "$(compressed 3)")" "${new:-nothing}"
# For context: a --cache-dir cache (as CI saves and restores it) keeps no
# unpacked trees, so a rebuild unpacks the cached layer and reads it again.
build 4 --cache-dir "$tmp/cache-dir"
build 5 --cache-dir "$tmp/cache-dir"
printf 'rebuild with --cache-dir: %ss (restore %.2fs, export %.2fs), compressed %s\n' \
	"$secs" "$(phase 5 restore)" "$(phase 5 export)" "$(human "$(compressed 5)")"
awk -v o="$overhead" 'BEGIN { exit !(o < 0.5) }' && echo "ratio ok: kiln overhead ${overhead}s < 0.5s" ||
	echo "ratio over: kiln overhead ${overhead}s >= 0.5s"
