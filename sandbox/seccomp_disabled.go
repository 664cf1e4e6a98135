//go:build !(cgo && seccomp)

package sandbox

import "errors"

// seccompBuilt reports whether kiln was built with the seccomp tag (and
// libseccomp linked in).
const seccompBuilt = false

func loadSeccomp() error { return errors.New("kiln was built without the seccomp tag") }
