#!/usr/bin/env bash
# make demo: the walkthrough of docs/tutorial.md end to end, with no Docker,
# no registry and no PyPI. It builds kiln, makes the Python stack from Debian
# packages, packages the walkthrough's buildpacks, creates the builder, turns
# Debian's pure-Python packages into a wheelhouse, builds an empty app and the
# Starlette app (the latter with --network none: pip really runs offline),
# starts the app with `kiln run`, asks it for / and /about, and stops it.
#
# Everything lives in ${KILN_DEMO_DIR:-/var/tmp/kiln-demo}: the store, the
# stack lock, the Debian packages and the images. A second run finds them
# there and is much faster; each step prints its time. Remove the directory
# for a cold run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
demo=${KILN_DEMO_DIR:-/var/tmp/kiln-demo}
mkdir -p "$demo"
demo=$(cd "$demo" && pwd)
work=$demo/work
kiln=("$root/bin/kiln" --store "$demo/store")

# The Debian packages behind the wheelhouse (app/requirements.txt pins the
# upstream versions Debian 12 ships).
debs=(python3-starlette python3-anyio python3-idna python3-sniffio python3-uvicorn python3-asgiref
	python3-click python3-h11)

timings=()
step() { # name command...
	local name=$1 start end
	shift
	echo
	echo "== $name"
	echo "\$ ${*/#$root\/bin\/kiln/kiln}"
	start=$(date +%s.%N)
	"$@"
	end=$(date +%s.%N)
	timings+=("$(printf '%-34s %7.2f s' "$name" "$(awk "BEGIN{print $end - $start}")")")
}

build_kiln() {
	./hack/build.sh
	go build -o "$demo/bin/imagesize" ./hack/imagesize
}

# The walkthrough's working folder: the sources are refreshed from
# testdata/walkthrough on every run; images written there stay.
prepare_work() {
	mkdir -p "$work" "$work/empty-app"
	cp -a testdata/walkthrough/. "$work/"
}

fetch_debs() {
	mkdir -p "$demo/debs"
	cd "$demo/debs"
	local missing=()
	for p in "${debs[@]}"; do
		compgen -G "${p}_*.deb" >/dev/null || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		if ! apt-get download "${missing[@]}" 2>/dev/null; then
			# A machine that never ran apt-get update has no package lists.
			if [ "$(id -u)" -ne 0 ]; then
				echo "demo: apt-get download ${missing[*]} failed; run apt-get update as root" >&2
				return 1
			fi
			apt-get update -qq
			apt-get download "${missing[@]}"
		fi
	fi
	ls -1 "$demo/debs"
	cd "$work"
}

# hack/wheelhouse.py runs with the build image's python3, in kiln's sandbox:
# the host needs no Python.
make_wheelhouse() {
	rm -rf "$demo/wheelhouse"
	mkdir -p "$demo/wheelhouse"
	local args=()
	for f in "$demo"/debs/*.deb; do
		args+=("/debs/$(basename "$f")")
	done
	"${kiln[@]}" run --network none --user 0 --entrypoint python3 \
		--volume "$root/hack:/hack:ro" --volume "$demo/debs:/debs:ro" --volume "$demo/wheelhouse:/wheelhouse" \
		oci:stack:build /hack/wheelhouse.py /wheelhouse "${args[@]}"
}

port=
pid=
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			port=$p
			return
		fi
	done
	echo "demo: no free port found" >&2
	return 1
}

# get PATH BODY prints the response's status line and body, over bash's
# /dev/tcp (curl may not be installed), and fails unless the body is BODY.
get() {
	local resp status body
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$1" "$port" >&3
	resp=$(cat <&3)
	exec 3<&-
	status=${resp%%$'\r'*}
	body=${resp#*$'\r\n\r\n'}
	echo "GET $1 -> $status"
	echo "  body: $body"
	if [ "$status" != "HTTP/1.1 200 OK" ] || [ "$body" != "$2" ]; then
		echo "demo: GET $1 answered $status $body, want 200 $2" >&2
		return 1
	fi
}

stop_app() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		wait "$pid" 2>/dev/null || true
	fi
	pid=
}
trap stop_app EXIT

start_app() {
	free_port
	"${kiln[@]}" run --user 1000 --env PORT="$port" --env HOST=127.0.0.1 oci:out:webapp >"$demo/webapp.log" 2>&1 &
	pid=$!
	for _ in $(seq 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "the app listens on 127.0.0.1:$port (kiln run, pid $pid)"
			return
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$demo/webapp.log" >&2
	echo "demo: the app did not start" >&2
	return 1
}

requests() {
	get / Homepage
	get /about About
}

step "make build" build_kiln
prepare_work
cd "$work"
step "kiln stack create" "${kiln[@]}" stack create --config stack.toml --lock "$demo/stack.lock" \
	--build-output oci:stack:build --run-output oci:stack:run
step "kiln buildpack package (empty)" "${kiln[@]}" buildpack package buildpacks/empty.cnb --config buildpacks/empty-package.toml
step "kiln buildpack package (python)" "${kiln[@]}" buildpack package buildpacks/python.cnb --config buildpacks/python-package.toml
step "kiln builder create" "${kiln[@]}" builder create oci:builder --config builder.toml
step "kiln build (empty app)" "${kiln[@]}" build oci:out:empty --builder oci:builder --path empty-app
step "apt-get download (wheel sources)" fetch_debs
step "wheelhouse (kiln run python3)" make_wheelhouse
step "kiln build (webapp, offline)" "${kiln[@]}" build oci:out:webapp --builder oci:builder --path app \
	--network none --volume "$demo/wheelhouse:/platform/bindings/wheelhouse" --env BP_PIP_FIND_LINKS=/platform/bindings/wheelhouse
step "kiln run (until it listens)" start_app
step "HTTP requests" requests
step "stop the app" stop_app

echo
echo "== image sizes (the walkthrough's pack added 2.4 MB to the run image for an empty app)"
"$demo/bin/imagesize" oci:stack:run oci:out:empty oci:out:webapp

echo
echo "== step times (store, lock and packages in $demo)"
printf '%s\n' "${timings[@]}"
