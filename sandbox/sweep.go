package sandbox

import (
	"bytes"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Without a PID namespace of its own (LevelNone, or the namespaces level
// degraded), a container cannot count on the kernel to kill what is left
// when its PID 1 exits. Its init is instead the child subreaper of
// everything it starts, so that orphans (daemons that called setsid or
// double-forked) are reparented to it rather than to the machine's init,
// and it sweeps them: it kills every descendant, reaps, and starts again
// until none is left.

// sweepTimeout bounds a sweep: processes that SIGKILL does not end at once
// (in uninterruptible sleep) get this long.
const sweepTimeout = 10 * time.Second

// sweep kills every descendant of the calling process, which must be
// their subreaper (or their PID namespace's init), reaping them with
// reap. It reports whether none is left.
func sweep(reap func() bool) bool {
	self := os.Getpid()
	deadline := time.Now().Add(sweepTimeout)
	for {
		pids := descendants(self)
		if len(pids) == 0 {
			reap()
			return true
		}
		for _, pid := range pids {
			unix.Kill(pid, unix.SIGKILL)
		}
		if !reap() {
			time.Sleep(time.Millisecond)
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// descendants lists every process below root, zombies included, parents
// before their children.
func descendants(root int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid := parentOf(pid); ppid > 0 {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := children[root]
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		out = append(out, pid)
		queue = append(queue, children[pid]...)
	}
	return out
}

// parentOf is field 4 of /proc/PID/stat, or 0.
func parentOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may contain anything: split after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return 0
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(string(f[1]))
	return ppid
}
