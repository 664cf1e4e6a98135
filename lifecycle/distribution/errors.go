package distribution

import "errors"

var (
	// ErrUnknownKeys reports keys in builder.toml that pack does not know;
	// pack refuses such a file, and so do we.
	ErrUnknownKeys = errors.New("unknown keys")
	// ErrInvalidConfig reports a builder.toml or package.toml whose values
	// contradict each other or the schema.
	ErrInvalidConfig = errors.New("invalid configuration")
	// ErrNotBuildpackage reports an image or .cnb file without the
	// io.buildpacks.buildpackage.metadata label.
	ErrNotBuildpackage = errors.New("not a buildpackage")
	// ErrNoDescriptor reports a buildpack source without buildpack.toml.
	ErrNoDescriptor = errors.New("no buildpack.toml")
	// ErrInvalidDescriptor reports a buildpack.toml without id or version,
	// or with an id that cannot name a directory.
	ErrInvalidDescriptor = errors.New("invalid buildpack descriptor")
	// ErrUnsupportedLocator reports a buildpack locator kiln cannot fetch
	// (a buildpack registry URN, or a builder reference where no builder is
	// at hand).
	ErrUnsupportedLocator = errors.New("unsupported buildpack locator")
	// ErrNoBuildpack reports an id[@version] locator (urn:cnb:builder:…,
	// from=builder:…) naming a buildpack that is not laid out.
	ErrNoBuildpack = errors.New("no such buildpack")
	// ErrUnsafePath reports an archive entry or link that would escape the
	// directory it is extracted into, or a buildpackage layer entry outside
	// /cnb/buildpacks.
	ErrUnsafePath = errors.New("unsafe path")
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
