package sandbox

import (
	"fmt"
	"os"
	"syscall"

	"github.com/opencontainers/runc/libcontainer/exeseal"
)

const presealEnv = "_KILN_SANDBOX_PRESEALED"

// Preseal re-executes the program from a sealed in-memory copy of its
// binary, once, so that starting a container does not copy the binary
// again: libcontainer must never run a container's init from a file the
// container could overwrite (CVE-2019-5736), and without a sealed
// /proc/self/exe it makes a copy per container (rootless: a memfd copy
// costing about 0.5 ms per MB). Programs that start several containers
// call it right after Init, from package init; it returns nil at once
// when the binary is already sealed, and on success it does not return.
func Preseal() error {
	if os.Getenv(presealEnv) != "" {
		os.Unsetenv(presealEnv) // not inherited by what we start
		return nil
	}
	if exeseal.IsSelfExeCloned() {
		return nil
	}
	quietLogrus()
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return fmt.Errorf("presealing: %w", err)
	}
	defer self.Close()
	fi, err := self.Stat()
	if err != nil {
		return fmt.Errorf("presealing: %w", err)
	}
	sealed, err := exeseal.CloneBinary(self, fi.Size(), "kiln", os.TempDir())
	if err != nil {
		return fmt.Errorf("presealing: %w", err)
	}
	os.Setenv(presealEnv, "1")
	err = syscall.Exec(fmt.Sprintf("/proc/self/fd/%d", sealed.Fd()), os.Args, os.Environ())
	os.Unsetenv(presealEnv)
	sealed.Close()
	return fmt.Errorf("presealing: re-executing: %w", err)
}
