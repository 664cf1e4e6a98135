// Package lifecycle implements the Cloud Native Buildpacks phases (analyze,
// detect, restore, build, export) and the buildpack contract they share
// (buildpack.toml, orders, groups and plans, layers and their TOML,
// launch.toml, the build environment, the labels of app and cache images) in
// pure Go. Processes run through a Runner that the caller supplies; this
// package never imports the sandbox. Running the phases for one build is
// package platform's job; reading and rebasing finished images is package
// appimage's.
//
// # Phases
//
// Each phase is a plain struct with a Run(ctx) method:
//
//   - Detector tries the groups of an Order (composite buildpacks expanded
//     depth-first, optional elements, duplicate IDs skipped), runs each
//     id@version's bin/detect once, possibly several at a time, resolves the
//     build plan and writes <layers>/group.toml and <layers>/plan.toml.
//   - Builder runs bin/build of each buildpack of the Group in order with its
//     share of the Plan, reads the layers, launch.toml, build.toml,
//     store.toml and SBOM files it left, and writes
//     <layers>/config/metadata.toml. Its BuildResult is the exporter's input.
//   - Analyzer reads the previous image's and the cache's metadata; Restorer
//     gives buildpacks their layer metadata, store.toml and cached layers
//     back (a Cache keeps cache=true layers in a layout or a registry).
//   - Exporter appends the build to the run image and returns the app image
//     unwritten; layers that did not change are reused, not re-tarred.
//
// Buildpack API 0.2 to 0.12 are supported, each with its own rules (layer
// flags, env file suffixes, process commands, plan versions); the
// behaviour follows the reference lifecycle where it and the specification
// disagree. The Platform API defaults to DefaultPlatformAPI.
//
// # Paths
//
// The phase code reads and writes the build's directories on the host, while
// buildpacks see them inside the build container: every directory is a Dir
// with both paths, and Paths groups them (HostPaths when both sides are the
// same, as with ExecRunner). Every path that comes from a buildpack, an order
// or a TOML file is resolved inside its directory (securejoin), so a
// buildpack's symlinks cannot make kiln read or write outside it.
//
// # Errors
//
// Errors carry the CNB exit codes (ExitCode): a *DetectError (20 no group
// passed, 21 a buildpack errored), a *BuildpackError (51 for a failed
// bin/build), an *APIError (12) and a *PhaseError for everything else
// (22 detect, 52 build).
package lifecycle
