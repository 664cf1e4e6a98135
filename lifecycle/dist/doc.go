// Package platform reads what a buildpacks platform is given — builder.toml,
// project.toml, buildpacks in their distribution forms — and lays the
// buildpacks out for the phases.
//
// It plays the part of pack's configuration readers and buildpack downloader:
// ReadBuilderConfig and ReadProjectDescriptor parse the two configuration
// files (rejecting what pack rejects), CopyApp copies an application into a
// workspace applying project.toml's include/exclude patterns, and
// FetchBuildpacks turns buildpack locators (directories, archives, .cnb files,
// buildpackage images) into a directory laid out as /cnb/buildpacks is in a
// builder: <dir>/<escaped-id>/<version>/.
//
// The package defines its own configuration types rather than sharing the
// phases' descriptor types in package lifecycle, the way pack's builder
// configuration has types of its own.
package dist
