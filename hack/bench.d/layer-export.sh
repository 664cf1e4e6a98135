#!/usr/bin/env bash
# layer-export: kiln writing a ~200 MB mixed tree as a layer (tar → sha256 →
# parallel gzip -1 → sha256 → file, one pass) against the floor measured in the
# same run on the same tree with standard tools:
#   tar --sort=name --format=pax | tee >(sha256sum) | pigz -1 | tee FILE | sha256sum
# Each side runs three times, interleaved; the best time counts (the machine
# is shared). Then kiln's peak RSS while exporting a 50 MB and a 500 MB tree,
# which must not grow with the layer.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${GO:=go}"
command -v pigz >/dev/null || { echo "layer-export: pigz is missing (make deps installs it)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/kiln-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/out"
"$GO" build -o "$tmp/layerbench" ./oci/internal/layerbench
lb=$tmp/layerbench

"$lb" gen "$tmp/t200" 200

# kiln: prints "seconds digest diffID size maxrss-kB".
kiln() { "$lb" export "$1" "$tmp/out"; }

floor() { # tree → seconds, with the hashes and size in $tmp/floor.*
	rm -f "$tmp/fifo" && mkfifo "$tmp/fifo"
	local start=$EPOCHREALTIME
	sha256sum <"$tmp/fifo" >"$tmp/floor.diffid" &
	tar -C "$1" --sort=name --format=pax --numeric-owner --owner=0 --group=0 --mtime=@315532801 -cf - . |
		tee "$tmp/fifo" | pigz -1 | tee "$tmp/out/floor.gz" | sha256sum >"$tmp/floor.digest"
	wait
	local end=$EPOCHREALTIME
	stat -c %s "$tmp/out/floor.gz" >"$tmp/floor.size"
	rm -f "$tmp/out/floor.gz"
	awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}

best() { printf '%s\n' "$@" | sort -g | head -1; }

kiln "$tmp/t200" >/dev/null # warm the page cache
kt=() ft=() digests=()
for _ in 1 2 3; do
	read -r secs digest _ size _ < <(kiln "$tmp/t200")
	kt+=("$secs") digests+=("$digest")
	ft+=("$(floor "$tmp/t200")")
done
if [ "$(printf '%s\n' "${digests[@]}" | sort -u | wc -l)" -ne 1 ]; then
	echo "layer-export: kiln gave different digests for the same tree: ${digests[*]}" >&2
	exit 1
fi
k=$(best "${kt[@]}") f=$(best "${ft[@]}")
awk -v k="$k" -v f="$f" 'BEGIN { printf "layer-export 200MB: kiln %.2fs floor %.2fs ratio %.2f\n", k, f, k / f }'
awk -v k="$size" -v f="$(cat "$tmp/floor.size")" -v d="${digests[0]}" \
	'BEGIN { printf "compressed size: kiln %.1f MB (pgzip -1), floor %.1f MB (pigz -1); kiln digest %s\n", k / 1048576, f / 1048576, d }'
rm -rf "$tmp/t200"

rss() { # MB → peak RSS in MB of exporting a tree of that size
	"$lb" gen "$tmp/t$1" "$1"
	local r
	read -r _ _ _ _ r < <(kiln "$tmp/t$1")
	rm -rf "$tmp/t$1"
	echo $((r / 1024))
}
r50=$(rss 50)
r500=$(rss 500)
echo "peak RSS: 50MB tree $r50 MB, 500MB tree $r500 MB"
