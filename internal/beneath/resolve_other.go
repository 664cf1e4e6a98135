//go:build unix && !linux

package beneath

import (
	"errors"

	"golang.org/x/sys/unix"
)

// pathFlag opens the intermediate directories of a name.
const pathFlag = unix.O_RDONLY

var errNoOpenat2 = errors.New("openat2 unavailable")

// openat2 exists on Linux only: names are resolved component by component.
func openat2(int, string, int) (int, error) { return -1, errNoOpenat2 }

// chmodHandle changes the mode of the file behind fd.
func chmodHandle(fd int, mode uint32) error { return unix.Fchmod(fd, mode) }

// HandlePath returns the path d was opened at: without /proc, a path
// cannot name a handle.
func (d *Dir) HandlePath() string { return d.f.Name() }
