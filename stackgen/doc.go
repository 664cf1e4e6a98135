// Package stackgen makes CNB stack images (a build image and a run image) from
// a base image, a root filesystem or Debian packages, without a daemon.
//
// Generate starts each image from its base, left untouched: an image
// reference, rootfs:PATH (a directory, whose ownership becomes root's, or a
// tar, plain, gzip or zstd, whose ownership is kept), or nothing. On top it
// lays out the image's Debian packages in one layer, when it lists any, and
// adds one small layer with the CNB user: /etc/passwd and /etc/group edited
// (an existing user with the UID is reused), and a home directory owned by
// the user. The build image runs as UID:GID and carries CNB_USER_ID,
// CNB_GROUP_ID and CNB_STACK_ID; both images carry io.buildpacks.stack.id
// and the distro labels from os-release; the run image also carries
// io.buildpacks.rebasable=true unless told otherwise. Times are fixed
// (oci.Epoch, or WithCreated), so the same inputs give the same digests.
//
// Debian packages are resolved (Resolve, or Generate when the lock does not
// answer the request) against signed apt indexes with package
// stackgen/debian, pinned in a Lock (stack.lock), downloaded once into the
// store and verified, and unpacked without running maintainer scripts: files
// owned by root, each package's control file in /var/lib/dpkg/status.d, the
// /bin, /sbin and /lib* directories as symlinks into /usr when the image has
// no base (the base's layout otherwise), and the CA bundle that
// ca-certificates' postinst would make. Packages a base's dpkg database
// already lists are not laid out again. Not done: /etc/shadow is not edited,
// Conflicts and Breaks are not checked, InRelease Valid-Until is not
// checked, and OpenSSL's hash links in /etc/ssl/certs are not made.
//
// LoadConfig reads the stack.toml format documented on Config.
package stackgen
