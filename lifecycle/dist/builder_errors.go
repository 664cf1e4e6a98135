package dist

import "errors"

// Sentinels of buildpackage and builder writing and of builder reading.
var (
	// ErrNotBuilder reports an image without the io.buildpacks.builder.metadata
	// label, or whose builder labels cannot be parsed.
	ErrNotBuilder = errors.New("not a builder image")
	// ErrInvalidBuildImage reports a build image a builder cannot be made
	// from (or a builder lacking what its build image must give): no
	// CNB_USER_ID or CNB_GROUP_ID, a stack id other than builder.toml's.
	ErrInvalidBuildImage = errors.New("invalid build image")
	// ErrIncompatible reports buildpacks that do not fit together or with
	// the build image: no common stack, a stack, target or Buildpack API the
	// build image or lifecycle does not support, a composite with targets.
	ErrIncompatible = errors.New("incompatible buildpacks")
	// ErrInvalidLifecycle reports a [lifecycle] uri that is not a lifecycle
	// archive (lifecycle.toml and lifecycle/<binaries>).
	ErrInvalidLifecycle = errors.New("invalid lifecycle archive")
)
