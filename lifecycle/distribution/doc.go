// Package distribution is the buildpack distribution formats: what buildpacks,
// buildpackages, builders and lifecycle archives are, and how they are read
// and written the way pack reads and writes them (CNB contract §5).
//
// Buildpacks in all their forms — a directory, a .tgz or .tar, a .cnb file,
// a buildpackage image, a buildpack already on a builder — are named by
// locators (ParseLocator) and laid out by FetchBuildpacks, FetchModules and
// ExtractBuildpacks into a directory shaped like a builder's
// /cnb/buildpacks: <dir>/<escaped-id>/<version>/. ReadDescriptor reads
// buildpack.toml (ReadExtensionDescriptor extension.toml).
//
// The configuration files of the distribution tools are read here too, with
// pack's strictness (unknown keys are errors): ReadPackageConfig
// (package.toml) and ReadBuilderConfig (builder.toml). PackageBuildpack
// writes a buildpackage image, WriteCNB a .cnb file, CreateBuilder a builder
// image, and ReadBuilderImage reads a builder made by kiln or by pack.
//
// The package has its own descriptor and configuration types rather than
// sharing the phases' types in package lifecycle, as pack's builder
// configuration has types of its own; it knows nothing of how a build runs.
package distribution
