// Command launcher is the CNB launcher placed at /cnb/lifecycle/launcher in
// every image kiln builds, with /cnb/process/<type> symlinks to it. It is
// built on the standard library only (see lifecycle/launch), statically
// (CGO_ENABLED=0) for linux/amd64 and linux/arm64, and carried inside kiln;
// it is never downloaded.
//
// Exit codes: 11 when CNB_PLATFORM_API is missing or unsupported, 12 for an
// unsupported Buildpack API, 1 when metadata.toml cannot be read, 82 for any
// other error before the exec; after the exec, the process's own.
package main

import (
	"os"

	"github.com/kilnbuild/kiln/lifecycle/launch"
)

func main() {
	os.Exit(launch.Main(os.Args, os.Environ()))
}
