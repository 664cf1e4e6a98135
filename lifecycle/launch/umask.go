package launch

import (
	"fmt"
	"strconv"
	"syscall"
)

// setUmask applies the UMASK variable of the launch environment (octal, as
// in `umask`), as the reference lifecycle does, so that the process and its
// children create files with the mode the platform operator chose.
func setUmask(value string) error {
	if value == "" {
		return nil
	}
	u, err := strconv.ParseUint(value, 8, 32)
	if err != nil || u > 0o777 {
		return fmt.Errorf("setting umask: invalid UMASK %q", value)
	}
	syscall.Umask(int(u))
	return nil
}
