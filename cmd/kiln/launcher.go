package main

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
)

// launcherFS holds the launcher binaries hack/build.sh puts in launcherbin/
// (launcher-linux-amd64, launcher-linux-arm64) next to a README that keeps
// the pattern matching on a fresh clone.
//
//go:embed launcherbin
var launcherFS embed.FS

// launcherBinary returns the static launcher for linux/<arch>, which the
// exporter places at /cnb/lifecycle/launcher. kiln never downloads one: a
// kiln built without `make build` has none and says so.
func launcherBinary(arch string) ([]byte, error) {
	b, err := fs.ReadFile(launcherFS, "launcherbin/launcher-linux-"+arch)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("kiln was built without the launcher for linux/%s; run make build", arch)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the embedded launcher for linux/%s: %w", arch, err)
	}
	return b, nil
}
