// Package lifecycle implements the Cloud Native Buildpacks phases (detect,
// analyze, restore, build, export) in pure Go. Processes run through a Runner
// that the caller supplies; this package never imports the sandbox.
package lifecycle
