package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// userNSBlocker names the kernel setting that keeps an unprivileged user
// from creating user namespaces, reading the sysctls under procSys
// (normally /proc/sys), or returns nil. hard reports settings that make
// creation fail outright; AppArmor's restriction lets the namespace be
// created but strips its capabilities unless a profile allows kiln, so it
// is only named once starting a container has failed.
func userNSBlocker(procSys string, hard bool) error {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(procSys, name))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	if read("user/max_user_namespaces") == "0" {
		return fmt.Errorf("%w: the sysctl user.max_user_namespaces is 0; "+
			"an administrator can allow them with `sysctl -w user.max_user_namespaces=15000`", ErrUserNamespaces)
	}
	if read("kernel/unprivileged_userns_clone") == "0" {
		return fmt.Errorf("%w: the sysctl kernel.unprivileged_userns_clone is 0; "+
			"an administrator can allow them with `sysctl -w kernel.unprivileged_userns_clone=1`", ErrUserNamespaces)
	}
	if !hard && read("kernel/apparmor_restrict_unprivileged_userns") == "1" {
		return fmt.Errorf("%w: AppArmor restricts them (kernel.apparmor_restrict_unprivileged_userns=1); "+
			"an administrator can install an AppArmor profile allowing `userns` for kiln, "+
			"or run `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`", ErrUserNamespaces)
	}
	return nil
}
