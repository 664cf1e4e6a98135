# Sourced by benchmark scripts. busybox_rootfs DIR makes a root filesystem of
# Debian's static busybox with every applet, a root account and os-release,
# the base of the busybox stacks they make with `kiln stack create`.
busybox_rootfs() {
	local root=$1 a
	[ -x /bin/busybox ] || { echo "busybox-static is missing (make deps)" >&2; return 1; }
	mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root"
	cp /bin/busybox "$root/bin/"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	printf 'ID=busybox\nVERSION_ID=1\n' >"$root/etc/os-release"
}

# empty_builder FILE STACK writes a builder.toml in the walkthrough's old
# [stack] form: the walkthrough's empty buildpack on the stack images
# oci:STACK:build and oci:STACK:run (STACK a layout directory).
empty_builder() {
	local file=$1 stack=$2
	cat >"$file" <<TOML
[[buildpacks]]
uri = "$PWD/cmd/kiln/testdata/buildpacks/empty"
[[order]]
  [[order.group]]
  id = "buildpacks/empty"
[stack]
id = "io.github.future-architect.samples.debian"
build-image = "oci:$stack:build"
run-image = "oci:$stack:run"
TOML
}
