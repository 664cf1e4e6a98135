#!/usr/bin/env bash
# Installs the Debian packages kiln's tests use, only when something is missing.
set -euo pipefail

pkgs=(skopeo umoci docker-registry docker.io busybox-static jq runc libseccomp-dev util-linux
      hyperfine podman python3 python3-pip-whl python3-setuptools-whl passwd ca-certificates pigz)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages: ${missing[*]} (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
