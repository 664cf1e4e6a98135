// Package platform runs one build, as a platform such as pack does: Build
// resolves a BuildRequest into its inputs (the builder's buildpacks laid out
// through package distribution, its order or the request's group, the stack images,
// the app copied through package project), runs the phases of package
// lifecycle in order — analyze, detect, restore, build, export — with
// buildpack processes in a container started through the Sandbox interface,
// saves the cache, and returns the app image unwritten.
//
// The caller (cmd/kiln) adapts package sandbox to Sandbox and writes the
// image; this package neither imports the sandbox nor reads flags or the
// environment.
package platform
