//go:build cgo && seccomp

package sandbox

import "github.com/opencontainers/runc/libcontainer/seccomp"

// seccompBuilt reports whether kiln was built with the seccomp tag (and
// libseccomp linked in).
const seccompBuilt = true

func loadSeccomp() error {
	quietLogrus()
	_, err := seccomp.InitSeccomp(seccompProfile())
	return err
}
