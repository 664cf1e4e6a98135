package stackgen

import "github.com/kilnbuild/kiln/stackgen/debian"

// Spec describes a stack: its ID, the CNB user, and how to make each of
// the two images.
type Spec struct {
	// ID is the stack ID (io.buildpacks.stack.id, CNB_STACK_ID).
	ID string
	// UID and GID are the CNB user and group (CNB_USER_ID, CNB_GROUP_ID);
	// zero means 1000. The build image's user is never root.
	UID, GID int
	// UserName is the user's name. Empty reuses the base's user that has
	// UID, else "cnb".
	UserName string
	// GroupName is the group's name. Empty reuses the base's group that has
	// GID, else UserName.
	GroupName string
	// Build and Run describe the two images.
	Build, Run ImageSpec
	// Debian holds the repositories Packages are resolved from.
	Debian DebianSpec
	// Lock pins the packages of both images. When it matches the requests
	// (see Lock.Current) no index is read; Resolve makes one.
	Lock *Lock
}

// ImageSpec describes one of the stack's images.
type ImageSpec struct {
	// Base is an image reference (oci:DIR[:TAG], docker-archive:FILE, a
	// registry name) or rootfs:PATH for a root filesystem directory or tar
	// (optionally gzip- or zstd-compressed). Empty means no base: the image
	// holds only its Packages.
	Base string
	// Packages are Debian packages laid out on top of the base, with their
	// dependencies; entries may carry a version constraint ("python3
	// (>= 3.11)", "tzdata=2024a-0+deb12u1").
	Packages []string
	// Exclude names packages treated as present without being installed,
	// to keep e.g. dpkg, debconf or perl-base out of a distroless image.
	Exclude []string
	// User adds the CNB user to the image. The build image always has it,
	// and so does the run image unless AsRoot is set.
	User bool
	// AsRoot leaves the run image as its base has it (root, without the CNB
	// user, when the base sets no user): the default before issue #14. The
	// run image otherwise runs as the CNB user, so that apps do not run as
	// root. Ignored for the build image.
	AsRoot bool
	// Labels are added to the image's config.
	Labels map[string]string
	// Env entries (KEY=VALUE) are added to the image's config.
	Env []string
	// NotRebasable leaves out io.buildpacks.rebasable=true, which the run
	// image otherwise carries.
	NotRebasable bool
}

// DebianSpec says where Debian packages come from.
type DebianSpec struct {
	// Sources are the apt repositories to resolve from. The CLI fills them
	// from the stack's config, or from the machine's apt sources.
	Sources []debian.Source
	// Architecture is the Debian architecture (amd64, arm64, …); empty
	// means that of the base image, else that of the running program.
	Architecture string
	// MergedUsr lays packages out for a merged /usr (/bin, /sbin, /lib* as
	// symlinks into /usr) when the image has no base; with a base, the
	// base's layout decides. Nil means true, as on Debian 12 and later.
	MergedUsr *bool
}

func (s Spec) uid() int {
	if s.UID == 0 {
		return 1000
	}
	return s.UID
}

func (s Spec) gid() int {
	if s.GID == 0 {
		return 1000
	}
	return s.GID
}
