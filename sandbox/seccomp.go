package sandbox

import (
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// seccompProfile is kiln's seccomp filter, loaded by each container's init
// into itself once the container is set up, so that the namespaces it
// creates need no exception. It allows everything except
// system calls that no build needs and that widen the kernel surface
// a process can reach: namespaces and mounts, kernel modules and keyrings,
// BPF and perf, clock and host settings, and cross-process memory access.
// They fail with EPERM; clone3 fails with ENOSYS so that libc falls back to
// clone, whose namespace flags the filter can inspect.
func seccompProfile() *configs.Seccomp {
	eperm := uint(unix.EPERM)
	enosys := uint(unix.ENOSYS)
	p := &configs.Seccomp{DefaultAction: configs.Allow}
	for _, name := range deniedSyscalls {
		p.Syscalls = append(p.Syscalls, &configs.Syscall{Name: name, Action: configs.Errno, ErrnoRet: &eperm})
	}
	p.Syscalls = append(p.Syscalls, &configs.Syscall{Name: "clone3", Action: configs.Errno, ErrnoRet: &enosys})
	for _, flag := range namespaceFlags {
		p.Syscalls = append(p.Syscalls, &configs.Syscall{
			Name: "clone", Action: configs.Errno, ErrnoRet: &eperm,
			Args: []*configs.Arg{{Index: 0, Value: flag, ValueTwo: flag, Op: configs.MaskEqualTo}},
		})
	}
	return p
}

var deniedSyscalls = []string{
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "delete_module",
	"finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "init_module", "ioperm",
	"iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount",
	"mount_setattr", "move_mount", "name_to_handle_at", "open_by_handle_at", "open_tree",
	"perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev", "quotactl",
	"reboot", "request_key", "setdomainname", "sethostname", "setns", "settimeofday",
	"swapoff", "swapon", "syslog", "umount2", "unshare", "uselib", "userfaultfd", "ustat",
}

var namespaceFlags = []uint64{
	unix.CLONE_NEWUSER, unix.CLONE_NEWNS, unix.CLONE_NEWPID, unix.CLONE_NEWNET,
	unix.CLONE_NEWIPC, unix.CLONE_NEWUTS, unix.CLONE_NEWCGROUP, unix.CLONE_NEWTIME,
}
