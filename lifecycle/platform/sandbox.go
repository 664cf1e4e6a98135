package platform

import (
	"context"

	"github.com/kilnbuild/kiln/lifecycle"
)

// Sandbox starts the build container buildpacks run in. cmd/kiln adapts
// package sandbox to it; tests may run buildpacks on the host instead.
type Sandbox interface {
	Start(ctx context.Context, c Container) (Session, error)
}

// Session is a started build container: it runs the phases' commands as
// the container's user. A phase ends with EndPhase, which kills every
// process the phase started (daemons included) and returns once they are
// gone, before the host touches the trees they could write; Close does the
// same for good when the build is done.
type Session interface {
	lifecycle.Runner
	EndPhase(ctx context.Context) error
	Close() error
}

// Container describes the build container.
type Container struct {
	// Rootfs is the build image's unpacked root filesystem, shared and
	// read-only.
	Rootfs string
	// Mounts are /workspace, /layers (read-write), /platform and
	// /cnb/buildpacks (read-only).
	Mounts []Mount
	// UID and GID are CNB_USER_ID and CNB_GROUP_ID of the build image: every
	// buildpack process runs as them.
	UID, GID int
}

// Mount is a bind mount of a host directory into the build container.
type Mount struct {
	Source, Destination string
	ReadOnly            bool
}
