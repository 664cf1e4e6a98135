// Package sandbox runs untrusted processes (buildpacks, images) in a rootless
// runc libcontainer container on an unpacked root filesystem.
package sandbox
